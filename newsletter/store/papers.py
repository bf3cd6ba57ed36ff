"""Papers and ingest runs: idempotent upserts keyed by the bare arXiv id, and the queries selection needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from newsletter.models import IngestResult, Paper, Validators, merge_papers
from newsletter.store.db import Database
from newsletter.store.tables import IngestRunRow, PaperRow, utcnow

_CHUNK = 500


@dataclass(frozen=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class IngestRun:
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    new: int
    updated: int
    unchanged: int
    errors: int
    error: str | None


class PaperStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, papers: Iterable[Paper], updates: Iterable[Paper] = ()) -> UpsertCounts:
        """Add new papers and merge known ones; `updates` only refresh papers already stored. One transaction.

        Bulk statements (one SELECT per chunk, then executemany INSERT and UPDATE): no per-row round trips.
        """
        incoming = _dedup(papers)
        refresh = _dedup(updates)
        new = updated = unchanged = 0
        with self.db.transaction() as session:
            ids = list(dict.fromkeys([*incoming, *refresh]))
            current: dict[str, tuple[int, Paper]] = {}
            for start in range(0, len(ids), _CHUNK):
                query = select(*_COLUMNS).where(PaperRow.arxiv_id.in_(ids[start : start + _CHUNK]))
                for row in session.execute(query):
                    current[row.arxiv_id] = (row.id, _paper_from(row._mapping))
            inserts: list[dict[str, Any]] = []
            changes: list[dict[str, Any]] = []
            now = utcnow()
            for arxiv_id in ids:
                known = current.get(arxiv_id)
                paper = incoming.get(arxiv_id)
                if known is None:
                    if paper is None:
                        continue  # an update for a paper never stored: nothing to refresh
                    inserts.append({**_values(paper), "created_at": now, "updated_at": now})
                    new += 1
                    continue
                merged = known[1]
                for extra in (paper, refresh.get(arxiv_id)):
                    if extra is not None:
                        merged = merge_papers(merged, extra)
                if merged == known[1]:
                    unchanged += 1
                else:
                    changes.append({"id": known[0], **_values(merged), "updated_at": now})
                    updated += 1
            if inserts:
                session.execute(insert(PaperRow), inserts)
            if changes:
                session.execute(update(PaperRow), changes)
        return UpsertCounts(new, updated, unchanged)

    def get(self, arxiv_id: str) -> Paper | None:
        with self.db.transaction() as session:
            row = session.scalar(select(PaperRow).where(PaperRow.arxiv_id == arxiv_id))
            return to_paper(row) if row else None

    def list(self, on: date | None = None, limit: int | None = None) -> list[Paper]:
        """Papers newest first (by announcement, then id); only one announcement day when `on` is given."""
        query = select(PaperRow).order_by(PaperRow.announced.desc().nulls_last(), PaperRow.arxiv_id.desc())
        if on is not None:
            query = query.where(PaperRow.announced == on)
        if limit is not None:
            query = query.limit(limit)
        with self.db.transaction() as session:
            return [to_paper(row) for row in session.scalars(query)]

    def announced_between(self, start: date, end: date) -> list[Paper]:
        query = (
            select(PaperRow)
            .where(PaperRow.announced >= start, PaperRow.announced <= end)
            .order_by(PaperRow.announced.desc(), PaperRow.arxiv_id)
        )
        with self.db.transaction() as session:
            return [to_paper(row) for row in session.scalars(query)]

    def latest_announcement(self, on_or_before: date) -> date | None:
        with self.db.transaction() as session:
            return session.scalar(select(func.max(PaperRow.announced)).where(PaperRow.announced <= on_or_before))

    def count(self) -> int:
        with self.db.transaction() as session:
            return session.scalar(select(func.count()).select_from(PaperRow)) or 0

    def record_run(self, result: IngestResult, started_at: datetime) -> None:
        with self.db.transaction() as session:
            session.add(
                IngestRunRow(
                    source=result.source,
                    started_at=started_at,
                    finished_at=utcnow(),
                    status=result.status,
                    new=result.new,
                    updated=result.updated,
                    unchanged=result.unchanged,
                    errors=result.errors,
                    error=result.error,
                    etag=result.validators.etag if result.validators else None,
                    last_modified=result.validators.last_modified if result.validators else None,
                )
            )

    def last_validators(self, source: str) -> Validators | None:
        """The ETag / Last-Modified of the source's latest answer, for the next conditional GET."""
        query = (
            select(IngestRunRow.etag, IngestRunRow.last_modified)
            .where(IngestRunRow.source == source, IngestRunRow.status != "error")
            .order_by(IngestRunRow.started_at.desc(), IngestRunRow.id.desc())
            .limit(1)
        )
        with self.db.transaction() as session:
            row = session.execute(query).first()
        if row is None or not (row.etag or row.last_modified):
            return None
        return Validators(row.etag, row.last_modified)

    def last_runs(self, limit: int = 10) -> Sequence[IngestRun]:
        query = select(IngestRunRow).order_by(IngestRunRow.started_at.desc(), IngestRunRow.id.desc()).limit(limit)
        with self.db.transaction() as session:
            return [
                IngestRun(
                    r.source,
                    r.status,
                    r.started_at,
                    r.finished_at,
                    r.new,
                    r.updated,
                    r.unchanged,
                    r.errors,
                    r.error,
                )
                for r in session.scalars(query)
            ]


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
)
_TUPLES = frozenset({"authors", "categories", "sources"})
_COLUMNS = (PaperRow.id, PaperRow.arxiv_id, *(getattr(PaperRow, f) for f in _FIELDS))


def _dedup(papers: Iterable[Paper]) -> dict[str, Paper]:
    """One paper per id: a batch that names a paper twice (several categories) merges the two."""
    by_id: dict[str, Paper] = {}
    for paper in papers:
        by_id[paper.id] = merge_papers(by_id[paper.id], paper) if paper.id in by_id else paper
    return by_id


def _values(paper: Paper) -> dict[str, Any]:
    values: dict[str, Any] = {"arxiv_id": paper.id}
    for name in _FIELDS:
        value = getattr(paper, name)
        values[name] = list(value) if name in _TUPLES else value
    return values


def _paper_from(row: Mapping[str, Any]) -> Paper:
    return Paper(
        id=row["arxiv_id"],
        **{name: tuple(row[name] or ()) if name in _TUPLES else row[name] for name in _FIELDS},
    )


def to_paper(row: PaperRow) -> Paper:
    return _paper_from({name: getattr(row, name) for name in ("arxiv_id", *_FIELDS)})
