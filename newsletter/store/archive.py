"""The digest archive: each reader's digest of an issue stored with its ledger row, and read back to send."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select
from sqlalchemy.orm import selectinload

from newsletter.errors import Conflict
from newsletter.models import Delivery, DeliveryState, Digest, Paper, Pick, Subscriber, Why
from newsletter.store.db import Database
from newsletter.store.deliveries import to_delivery
from newsletter.store.papers import to_paper
from newsletter.store.tables import DeliveryRow, DigestItemRow, DigestRow, PaperRow, utcnow


class DigestArchive:
    def __init__(self, db: Database) -> None:
        self.db = db

    def sent_versions(self, subscriber_id: int) -> dict[str, int | None]:
        """Every paper already accepted by the server for this reader, with the highest version sent."""
        return self.sent_versions_many([subscriber_id]).get(subscriber_id, {})

    def sent_versions_many(
        self, subscriber_ids: Collection[int], since: date | None = None
    ) -> dict[int, dict[str, int | None]]:
        """sent_versions for a batch of readers in one query; with `since`, only of papers announced or
        revised on or after it (the only ones a digest of a window starting then can hold: a reader's
        whole history would be read every day otherwise, ten rows a day more each day)."""
        query = (
            select(DigestRow.subscriber_id, PaperRow.arxiv_id, func.max(DigestItemRow.version))
            .join(DigestItemRow, DigestItemRow.paper_id == PaperRow.id)
            .join(DigestRow, DigestRow.id == DigestItemRow.digest_id)
            .join(
                DeliveryRow,
                and_(DeliveryRow.digest_id == DigestRow.id, DeliveryRow.state == str(DeliveryState.SENT)),
            )
            .where(DigestRow.subscriber_id.in_(list(subscriber_ids)))
            .group_by(DigestRow.subscriber_id, PaperRow.arxiv_id)
        )
        if since is not None:
            query = query.where(or_(PaperRow.announced >= since, PaperRow.revised_on >= since))
        found: dict[int, dict[str, int | None]] = {}
        with self.db.transaction() as session:
            for subscriber_id, arxiv_id, version in session.execute(query):
                found.setdefault(subscriber_id, {})[arxiv_id] = version
        return found

    def last_sent_many(self, subscriber_ids: Collection[int], before: date) -> dict[int, date]:
        """The last issue sent to each of these readers before a date (readers never mailed are absent)."""
        query = (
            select(DeliveryRow.subscriber_id, func.max(DeliveryRow.issue_date))
            .where(
                DeliveryRow.subscriber_id.in_(list(subscriber_ids)),
                DeliveryRow.state == str(DeliveryState.SENT),
                DeliveryRow.issue_date < before,
            )
            .group_by(DeliveryRow.subscriber_id)
        )
        with self.db.transaction() as session:
            return {subscriber_id: day for subscriber_id, day in session.execute(query)}

    def last_sent_issue(self, subscriber_id: int, before: date) -> date | None:
        return self.last_sent_many([subscriber_id], before).get(subscriber_id)

    def record_digest(self, digest: Digest, state: DeliveryState, reason: str | None = None) -> Delivery:
        """Archive one digest and open its ledger row (see record_digests)."""
        return self.record_digests([(digest, state, reason)])[0]

    def record_digests(self, entries: Sequence[tuple[Digest, DeliveryState, str | None]]) -> list[Delivery]:
        """Archive digests and open their ledger rows, all in one transaction; a reader whose row for the
        issue exists already keeps it (returned as is)."""
        if not entries:
            return []
        try:
            return self._record_digests(entries)
        except Conflict:
            # Another process opened some of these rows between our look and our insert (`run` and a `send`
            # by hand at once): looked at again, they exist and are kept.
            return self._record_digests(entries)

    def _record_digests(self, entries: Sequence[tuple[Digest, DeliveryState, str | None]]) -> list[Delivery]:
        with self.db.transaction() as session:
            wanted_ids = {pick.paper.id for digest, _, _ in entries for pick in digest.picks}
            paper_pks: dict[str, int] = {
                arxiv_id: pk
                for arxiv_id, pk in session.execute(
                    select(PaperRow.arxiv_id, PaperRow.id).where(PaperRow.arxiv_id.in_(wanted_ids))
                )
            }
            day = entries[0][0].issue_date
            existing = {
                row.subscriber_id: row
                for row in session.scalars(
                    select(DeliveryRow).where(
                        DeliveryRow.issue_date == day,
                        DeliveryRow.subscriber_id.in_([d.subscriber.id for d, _, _ in entries]),
                    )
                )
            }
            fresh = [(d, state, reason) for d, state, reason in entries if d.subscriber.id not in existing]
            deliveries: dict[int, Delivery] = {}
            if fresh:
                # Core bulk statements (executemany, RETURNING in input order): the ORM's unit of work
                # costs about 1 ms per reader here, more than building and sending the message.
                conn = session.connection()
                now = utcnow()
                digest_ids = self._numbered(
                    conn,
                    DigestRow,
                    [
                        {
                            "subscriber_id": d.subscriber.id,
                            "issue_date": d.issue_date,
                            "window_start": d.window_start,
                            "window_end": d.window_end,
                            "candidates": d.candidates,
                            "quiet_days": ",".join(day.isoformat() for day in d.quiet_days) or None,
                            "created_at": now,
                        }
                        for d, _, _ in fresh
                    ],
                )
                # Readers share their picks' reasons (the same objects): each serialized once, found by identity
                # (hashing a reason's fields for every pick was half of archiving an issue). The picks hold
                # them for the whole loop, so no identity is reused.
                whys: dict[int, str] = {}
                items = [
                    (
                        digest_id,
                        paper_pks[pick.paper.id],
                        rank,
                        float(pick.score),
                        whys.get(id(pick.why)) or whys.setdefault(id(pick.why), pick.why.to_json()),
                        pick.paper.version,
                        bool(pick.updated),  # sqlite3 would keep a numpy bool as a blob, which reads back true
                        bool(pick.trending),
                    )
                    for digest_id, (d, _, _) in zip(digest_ids, fresh, strict=True)
                    for rank, pick in enumerate(d.picks, start=1)
                ]
                if items:
                    # Ten rows a reader of plain values, handed to the driver's executemany as they are:
                    # SQLAlchemy's per-row parameter processing was most of archiving an issue.
                    columns = "digest_id, paper_id, rank, score, why, version, updated, trending"
                    marks = ", ".join([self.db.placeholder] * 8)
                    conn.exec_driver_sql(f"INSERT INTO digest_items ({columns}) VALUES ({marks})", items)
                delivery_ids = self._numbered(
                    conn,
                    DeliveryRow,
                    [
                        {
                            "subscriber_id": d.subscriber.id,
                            "issue_date": d.issue_date,
                            "digest_id": digest_id,
                            "state": str(state),
                            "attempts": 0,
                            "last_reply": reason,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for digest_id, (d, state, reason) in zip(digest_ids, fresh, strict=True)
                    ],
                )
                for delivery_id, (d, state, reason) in zip(delivery_ids, fresh, strict=True):
                    deliveries[d.subscriber.id] = Delivery(
                        delivery_id,
                        d.subscriber.id,
                        d.subscriber.email,
                        d.issue_date,
                        state,
                        0,
                        None,
                        None,
                        reason,
                        None,
                        created=True,
                    )
            return [
                to_delivery(existing[d.subscriber.id], d.subscriber.email)
                if d.subscriber.id in existing
                else deliveries[d.subscriber.id]
                for d, _, _ in entries
            ]

    def _numbered(
        self, conn: Connection, table: type[DigestRow | DeliveryRow], rows: list[dict[str, Any]]
    ) -> list[int]:
        """Inserts rows and gives their ids, in the rows' order. PostgreSQL: RETURNING in parameter order. SQLite
        answers that with a statement per row (most of archiving an issue): the first row's insert takes the
        write lock and its id is the largest, so the others take the ids after it, given here."""
        if not self.db.is_sqlite:
            return list(conn.scalars(insert(table).returning(table.id, sort_by_parameter_order=True), rows))
        first = conn.scalar(insert(table).returning(table.id), rows[0])
        assert first is not None
        if rows[1:]:
            conn.execute(insert(table), [{**row, "id": first + n} for n, row in enumerate(rows[1:], start=1)])
        return list(range(first, first + len(rows)))

    def load_digest(self, subscriber: Subscriber, issue_date: date) -> Digest | None:
        query = (
            select(DigestRow)
            .options(selectinload(DigestRow.items).selectinload(DigestItemRow.paper))
            .where(DigestRow.subscriber_id == subscriber.id, DigestRow.issue_date == issue_date)
        )
        with self.db.transaction() as session:
            row = session.scalar(query)
            if row is None:
                return None
            picks = tuple(
                Pick(
                    to_paper(item.paper),
                    item.score,
                    Why.from_json(item.why),
                    updated=item.updated,
                    trending=item.trending,
                )
                for item in row.items
            )
            return Digest(
                subscriber,
                row.issue_date,
                picks,
                row.window_start,
                row.window_end,
                row.candidates,
                _days(row.quiet_days),
            )

    def load_digests(
        self, deliveries: Sequence[Delivery], subscribers: Mapping[int, Subscriber], papers: dict[int, Paper]
    ) -> dict[int, Digest]:
        """The archived digests of these claimed rows, by delivery id, in a few bulk queries. `papers` is
        the caller's cache (row id -> Paper), filled here: readers of one issue share most of their papers."""
        ids = [d.id for d in deliveries]
        with self.db.transaction() as session:
            heads = session.execute(
                select(
                    DeliveryRow.id,
                    DigestRow.id,
                    DigestRow.subscriber_id,
                    DigestRow.issue_date,
                    DigestRow.window_start,
                    DigestRow.window_end,
                    DigestRow.candidates,
                    DigestRow.quiet_days,
                )
                .join(DigestRow, DigestRow.id == DeliveryRow.digest_id)
                .where(DeliveryRow.id.in_(ids))
            ).all()
            items = session.execute(
                select(
                    DigestItemRow.digest_id,
                    DigestItemRow.paper_id,
                    DigestItemRow.score,
                    DigestItemRow.why,
                    DigestItemRow.updated,
                    DigestItemRow.trending,
                )
                .where(DigestItemRow.digest_id.in_([h[1] for h in heads]))
                .order_by(DigestItemRow.digest_id, DigestItemRow.rank)
            ).all()
            missing = {i.paper_id for i in items} - papers.keys()
            if missing:
                for row in session.scalars(select(PaperRow).where(PaperRow.id.in_(missing))):
                    papers[row.id] = to_paper(row)
        picks: dict[int, list[Pick]] = {}
        for digest_id, paper_id, score, why, updated, trending in items:
            picks.setdefault(digest_id, []).append(Pick(papers[paper_id], score, Why.from_json(why), updated, trending))
        return {
            delivery_id: Digest(
                subscribers[sub_id], day, tuple(picks.get(digest_id, ())), start, end, candidates, _days(quiet)
            )
            for delivery_id, digest_id, sub_id, day, start, end, candidates, quiet in heads
        }


def _days(text: str | None) -> tuple[date, ...]:
    return tuple(date.fromisoformat(d) for d in text.split(",")) if text else ()
