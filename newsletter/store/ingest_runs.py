"""Ingest runs: one row per fetch of a source, its validators, and the latest runs.

One row per fetch of a source (what it brought, how it ended), the validators for the next conditional GET, and
the latest runs for `newsletter status`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from newsletter.models import IngestResult, Validators
from newsletter.store.db import Database
from newsletter.store.tables import IngestRunRow, utcnow


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


class IngestRuns:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, result: IngestResult, started_at: datetime) -> None:
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

    def latest(self, limit: int = 10) -> Sequence[IngestRun]:
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
