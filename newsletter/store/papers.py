"""Papers and ingest runs: idempotent upserts keyed by the bare arXiv id, and the queries selection needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from newsletter.models import IngestResult, Paper, merge_papers
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

    def upsert(self, papers: Iterable[Paper]) -> UpsertCounts:
        """Insert new papers and merge known ones, all in one transaction."""
        by_id: dict[str, Paper] = {}
        for paper in papers:
            by_id[paper.id] = merge_papers(by_id[paper.id], paper) if paper.id in by_id else paper
        new = updated = unchanged = 0
        ids = list(by_id)
        with self.db.transaction() as session:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                rows = {r.arxiv_id: r for r in session.scalars(select(PaperRow).where(PaperRow.arxiv_id.in_(chunk)))}
                for arxiv_id in chunk:
                    incoming = by_id[arxiv_id]
                    row = rows.get(arxiv_id)
                    if row is None:
                        session.add(_to_row(incoming, PaperRow()))
                        new += 1
                        continue
                    current = to_paper(row)
                    merged = merge_papers(current, incoming)
                    if merged == current:
                        unchanged += 1
                    else:
                        _to_row(merged, row)
                        updated += 1
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
                )
            )

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


def to_paper(row: PaperRow) -> Paper:
    return Paper(
        id=row.arxiv_id,
        title=row.title,
        abstract=row.abstract,
        authors=tuple(row.authors),
        version=row.version,
        categories=tuple(row.categories),
        primary_category=row.primary_category,
        published=row.published,
        updated=row.updated,
        announced=row.announced,
        comment=row.comment,
        upvotes=row.upvotes,
        num_comments=row.num_comments,
        github_url=row.github_url,
        project_url=row.project_url,
        ai_summary=row.ai_summary,
        sources=tuple(row.sources),
    )


def _to_row(paper: Paper, row: PaperRow) -> PaperRow:
    row.arxiv_id = paper.id
    row.title = paper.title
    row.abstract = paper.abstract
    row.authors = list(paper.authors)
    row.version = paper.version
    row.categories = list(paper.categories)
    row.primary_category = paper.primary_category
    row.published = paper.published
    row.updated = paper.updated
    row.announced = paper.announced
    row.comment = paper.comment
    row.upvotes = paper.upvotes
    row.num_comments = paper.num_comments
    row.github_url = paper.github_url
    row.project_url = paper.project_url
    row.ai_summary = paper.ai_summary
    row.sources = list(paper.sources)
    return row
