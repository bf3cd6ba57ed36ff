"""Papers: idempotent upserts keyed by the bare arXiv id, and the queries selection needs."""

from __future__ import annotations

import builtins
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    ARRAY,
    Row,
    String,
    Table,
    UnaryExpression,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from newsletter.models import Paper, merge_papers
from newsletter.store.db import Database
from newsletter.store.tables import PaperRow, utcnow
from newsletter.trending import trending_score

if TYPE_CHECKING:
    import psycopg

_CHUNK = 2000  # ids per IN (...) lookup on SQLite: few round trips, well under its parameter limit


@dataclass(frozen=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


class PaperStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, papers: Iterable[Paper], updates: Iterable[Paper] = (), today: date | None = None) -> UpsertCounts:
        """Add new papers and merge known ones; `updates` only refresh papers already stored. One transaction.

        Bulk statements only (a SELECT per chunk, then executemany INSERT and UPDATE): no per-row round trips.
        A paper whose source says exactly what it said last time is recognised by its fingerprint alone.
        """
        incoming = _dedup(papers)
        refresh = _dedup(updates)
        ids = list(dict.fromkeys([*incoming, *refresh]))
        new = updated = unchanged = 0
        with self.db.transaction() as session:
            known = {
                row.arxiv_id: row.fingerprints
                for row in self._select(session, (PaperRow.arxiv_id, PaperRow.fingerprints), ids)
            }
            now = utcnow()
            inserts: list[dict[str, Any]] = []
            to_merge: list[str] = []
            for arxiv_id in ids:
                if arxiv_id not in known:
                    if arxiv_id in incoming:  # an update for a paper never stored refreshes nothing
                        paper = incoming[arxiv_id]
                        inserts.append(
                            {
                                **_values(paper),
                                "fingerprints": _stamp(None, paper),
                                "created_at": now,
                                "updated_at": now,
                            }
                        )
                        new += 1
                elif all(_stamped(known[arxiv_id], p) for p in (incoming.get(arxiv_id), refresh.get(arxiv_id)) if p):
                    unchanged += 1
                else:
                    to_merge.append(arxiv_id)
            changes: list[dict[str, Any]] = []
            for row in self._select(session, _COLUMNS, to_merge):
                current = paper_from_mapping(row._mapping)
                merged, stamps = current, row.fingerprints
                for extra in (incoming.get(row.arxiv_id), refresh.get(row.arxiv_id)):
                    if extra is not None:
                        merged, stamps = merge_papers(merged, extra), _stamp(stamps, extra)
                if row.arxiv_id not in incoming:
                    # A new version of a background paper refreshes it; only an announcement makes it news.
                    merged = replace(merged, background=current.background)
                if merged == current:
                    unchanged += 1
                    changes.append({"id": row.id, "fingerprints": stamps})
                else:
                    updated += 1
                    change = {"id": row.id, **_values(merged), "fingerprints": stamps}
                    if today and not merged.background and (merged.version or 0) > (current.version or 0):
                        change["revised_on"] = today  # a new version: readers who had it may get it again
                    changes.append(change)
            if inserts:
                self._insert(session, inserts)
                if self.db.is_postgresql and len(inserts) >= _ANALYZE_AFTER:
                    # Fresh statistics keep the next lookups on the index after a bulk load. Only the columns
                    # they filter on: the full-text column's lexeme statistics were 0.47 of 0.53 s per batch
                    # on 20,000 real papers, and autovacuum gathers them in its own time.
                    session.execute(text(f"ANALYZE papers ({', '.join(_LOOKUP_COLUMNS)})"))
            if changes:
                session.execute(update(PaperRow), changes)
        return UpsertCounts(new, updated, unchanged)

    def _insert(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Bulk insert of rows encoded by each column's own type (what an ORM insert does, without its per-row
        bookkeeping: a third of the CPU of storing a batch): COPY on PostgreSQL (3x faster than a pipelined
        executemany there), the driver's executemany on SQLite."""
        columns = list(rows[0])
        connection = session.connection()
        values = _encoded(rows, columns, connection.dialect)
        names = ", ".join(columns)
        if not self.db.is_postgresql:
            # Rows inserted in this transaction get ids above today's largest (SQLite has one writer at a
            # time), so they are indexed for full-text search in one statement (see migration 0010).
            before = connection.scalar(select(func.max(PaperRow.id))) or 0
            marks = ", ".join("?" * len(columns))
            connection.exec_driver_sql(f"INSERT INTO papers ({names}) VALUES ({marks})", list(values))
            connection.execute(_INDEX_NEW_PAPERS, {"before": before})
            return
        # The full-text index takes new rows into its pending list and merges them in work_mem: the default
        # 4 MB made a 100,000-paper import merge in many small rounds (38 s against 34 s with 64 MB). For this
        # transaction only.
        connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        raw = connection.connection.dbapi_connection
        assert raw is not None  # the session's connection is checked out
        cursor = cast("psycopg.Cursor[Any]", raw.cursor())  # PostgreSQL is reached through psycopg 3
        with cursor, cursor.copy(f"COPY papers ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)

    def _select(self, session: Session, columns: Sequence[Any], ids: list[str]) -> Iterator[Row[Any]]:
        """Rows for these ids: one `= ANY(array)` on PostgreSQL (one parameter, 4x faster than IN with
        thousands), chunks of IN (...) on SQLite."""
        if not ids:
            return
        if self.db.is_postgresql:
            # The generic ARRAY: the dialect module it would name costs a SQLite process 50 ms to import.
            wanted = any_(bindparam("ids", ids, type_=ARRAY(String)))
            yield from session.execute(select(*columns).where(PaperRow.arxiv_id == wanted))
            return
        for start in range(0, len(ids), _CHUNK):
            yield from session.execute(select(*columns).where(PaperRow.arxiv_id.in_(ids[start : start + _CHUNK])))

    def get(self, arxiv_id: str) -> Paper | None:
        with self.db.transaction() as session:
            row = session.scalar(select(PaperRow).where(PaperRow.arxiv_id == arxiv_id))
            return to_paper(row) if row else None

    def get_many(self, arxiv_ids: Sequence[str]) -> list[Paper]:
        """The stored papers among these ids, in the order given."""
        if not arxiv_ids:
            return []
        with self.db.transaction() as session:
            found = {
                r.arxiv_id: paper_from_mapping(r._mapping) for r in self._select(session, _COLUMNS, list(arxiv_ids))
            }
        return [found[i] for i in arxiv_ids if i in found]

    def list(self, on: date | None = None, limit: int | None = None, trending: bool = False) -> list[Paper]:
        """Papers newest first (by announcement, then id), or by trending score; only one announcement day
        when `on` is given. Background papers are searchable but never listed."""
        order: tuple[UnaryExpression[Any], ...]
        if trending:
            order = (PaperRow.trending.desc().nulls_last(), PaperRow.arxiv_id.desc())
        else:
            order = (PaperRow.announced.desc().nulls_last(), PaperRow.arxiv_id.desc())
        query = select(PaperRow).where(PaperRow.background.is_(False)).order_by(*order)
        if on is not None:
            query = query.where(PaperRow.announced == on)
        if limit is not None:
            query = query.limit(limit)
        with self.db.transaction() as session:
            return [to_paper(row) for row in session.scalars(query)]

    def announced_between(self, start: date, end: date) -> builtins.list[Paper]:
        """Papers announced in [start, end], and known papers whose new version arrived then."""
        query = (
            select(PaperRow)
            .where(
                or_(
                    and_(PaperRow.announced >= start, PaperRow.announced <= end),
                    and_(PaperRow.revised_on >= start, PaperRow.revised_on <= end),
                )
            )
            .order_by(PaperRow.announced.desc(), PaperRow.arxiv_id)
        )
        with self.db.transaction() as session:
            return [to_paper(row) for row in session.scalars(query)]

    def announcement_days(self, limit: int = 60) -> builtins.list[tuple[date, int]]:
        """The latest announcement days with their paper counts, newest first."""
        query = (
            select(PaperRow.announced, func.count())
            .where(PaperRow.announced.is_not(None))
            .group_by(PaperRow.announced)
            .order_by(PaperRow.announced.desc())
            .limit(limit)
        )
        with self.db.transaction() as session:
            return [(day, count) for day, count in session.execute(query) if day is not None]

    def neighbour_days(self, day: date) -> tuple[date | None, date | None]:
        """The announcement days just before and just after this one (paging by day)."""
        with self.db.transaction() as session:
            before = session.scalar(select(func.max(PaperRow.announced)).where(PaperRow.announced < day))
            after = session.scalar(select(func.min(PaperRow.announced)).where(PaperRow.announced > day))
            return before, after

    def first_announcement(self) -> date | None:
        with self.db.transaction() as session:
            return session.scalar(select(func.min(PaperRow.announced)))

    def latest_announcement(self, on_or_before: date) -> date | None:
        with self.db.transaction() as session:
            return session.scalar(select(func.max(PaperRow.announced)).where(PaperRow.announced <= on_or_before))

    def count(self, background: bool | None = None) -> int:
        """Stored papers; only the background ones (True) or only the others (False)."""
        query = select(func.count()).select_from(PaperRow)
        if background is not None:
            query = query.where(PaperRow.background.is_(background))
        with self.db.transaction() as session:
            return session.scalar(query) or 0


_FIELDS = (
    "title",
    "abstract",
    "authors",
    "version",
    "categories",
    "primary_category",
    "published",
    "updated",
    "announced",
    "comment",
    "upvotes",
    "num_comments",
    "github_url",
    "project_url",
    "ai_summary",
    "sources",
    "background",
)
_TUPLES = frozenset({"authors", "categories", "sources"})
_COLUMNS = (PaperRow.id, PaperRow.arxiv_id, PaperRow.fingerprints, *(getattr(PaperRow, f) for f in _FIELDS))
_ANALYZE_AFTER = 1000
_LOOKUP_COLUMNS = ("id", "arxiv_id", "announced", "revised_on", "background", "trending")
_INDEX_NEW_PAPERS = text(
    "INSERT INTO papers_fts(rowid, title, abstract, authors) "
    "SELECT id, title, abstract, authors FROM papers WHERE id > :before"
)


def _encoded(rows: list[dict[str, Any]], columns: list[str], dialect: Dialect) -> Iterator[tuple[Any, ...]]:
    """Each row's values in the order of `columns`, as the driver takes them (JSON lists as text, and on
    SQLite dates and times as the strings SQLAlchemy reads back). Only the columns whose type converts are
    touched: a snapshot import encodes 100k rows of 23 columns, most of them taken as they are."""
    table = cast(Table, PaperRow.__table__)
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    converted = [(i, processor) for i, processor in enumerate(processors) if processor is not None]
    values = operator.itemgetter(*columns)
    for row in rows:
        encoded = list(values(row))
        for i, convert in converted:
            encoded[i] = convert(encoded[i])
        yield tuple(encoded)


def _fingerprint(paper: Paper) -> tuple[str, str]:
    """(source key, short hash of everything this record says)."""
    return "+".join(paper.sources) or "unknown", paper.fingerprint


def _stamped(stamps: str | None, paper: Paper) -> bool:
    key, digest = _fingerprint(paper)
    return f"{key}={digest}" in (stamps or "").split()


def _stamp(stamps: str | None, paper: Paper) -> str:
    key, digest = _fingerprint(paper)
    kept = [s for s in (stamps or "").split() if not s.startswith(f"{key}=")]
    return " ".join([*kept, f"{key}={digest}"])


def _dedup(papers: Iterable[Paper]) -> dict[str, Paper]:
    """One paper per id: a batch that names a paper twice (several categories) merges the two."""
    by_id: dict[str, Paper] = {}
    for paper in papers:
        by_id[paper.id] = merge_papers(by_id[paper.id], paper) if paper.id in by_id else paper
    return by_id


def _values(paper: Paper) -> dict[str, Any]:
    # Background papers are never in a day's list, so they have no trending score to sort by.
    values: dict[str, Any] = {"arxiv_id": paper.id, "trending": None if paper.background else trending_score(paper)}
    for name in _FIELDS:
        value = getattr(paper, name)
        if name in _TUPLES:
            value = list(value)
        elif isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"paper {paper.id}: naive datetime in '{name}'")
            value = value.astimezone(UTC)
        values[name] = value
    return values


def paper_from_mapping(row: Mapping[Any, Any]) -> Paper:
    fields: dict[str, Any] = {name: tuple(row[name] or ()) if name in _TUPLES else row[name] for name in _FIELDS}
    return Paper(id=row["arxiv_id"], **fields)


def paper_columns(alias: str) -> str:
    """The columns paper_from_mapping reads, for a hand-written SELECT (full-text search)."""
    return ", ".join(f"{alias}.{name}" for name in ("arxiv_id", *_FIELDS))


def paper_types() -> dict[str, Any]:
    """Their types, so a textual SELECT decodes JSON lists and UTC datetimes like the ORM does."""
    return {name: PaperRow.__table__.c[name].type for name in ("arxiv_id", *_FIELDS)}


def to_paper(row: PaperRow) -> Paper:
    return paper_from_mapping({name: getattr(row, name) for name in ("arxiv_id", *_FIELDS)})
