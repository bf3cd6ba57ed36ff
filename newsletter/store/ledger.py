"""The delivery ledger and the digest archive: claim / mark / reclaim, one short commit per transition."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from newsletter.models import Delivery, DeliveryState, Digest, Outcome, Paper, Pick, Status, Subscriber, Why
from newsletter.store.db import Database
from newsletter.store.papers import to_paper
from newsletter.store.subscribers import SubscriberStore
from newsletter.store.tables import DeliveryRow, DigestItemRow, DigestRow, PaperRow, SubscriberRow, utcnow

_CLAIMABLE = (DeliveryState.PENDING, DeliveryState.FAILED_TRANSIENT)
JOURNAL_CHUNK = 500  # rows per statement when applying a journal (SQLite caps bound parameters)


@dataclass(frozen=True)
class IssueStatus:
    issue_date: date
    counts: dict[str, int]
    last_errors: list[Delivery]


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the digest archive ------------------------------------------------------------------------------

    def sent_versions(self, subscriber_id: int) -> dict[str, int | None]:
        """Every paper already accepted by the server for this reader, with the highest version sent."""
        return self.sent_versions_many([subscriber_id]).get(subscriber_id, {})

    def sent_versions_many(self, subscriber_ids: Collection[int]) -> dict[int, dict[str, int | None]]:
        """sent_versions for a batch of readers in one query."""
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
                digest_ids = conn.scalars(
                    insert(DigestRow).returning(DigestRow.id, sort_by_parameter_order=True),
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
                ).all()
                items = [
                    {
                        "digest_id": digest_id,
                        "paper_id": paper_pks[pick.paper.id],
                        "rank": rank,
                        "score": pick.score,
                        "why": pick.why.to_json(),
                        "version": pick.paper.version,
                        "updated": pick.updated,
                        "trending": pick.trending,
                    }
                    for digest_id, (d, _, _) in zip(digest_ids, fresh, strict=True)
                    for rank, pick in enumerate(d.picks, start=1)
                ]
                if items:
                    conn.execute(insert(DigestItemRow), items)
                rows = conn.execute(
                    insert(DeliveryRow).returning(DeliveryRow.id, sort_by_parameter_order=True),
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
                ).all()
                for (delivery_id,), (d, state, reason) in zip(rows, fresh, strict=True):
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
                _to_delivery(existing[d.subscriber.id], d.subscriber.email)
                if d.subscriber.id in existing
                else deliveries[d.subscriber.id]
                for d, _, _ in entries
            ]

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

    # -- the ledger --------------------------------------------------------------------------------------

    def get(self, subscriber_id: int, issue_date: date) -> Delivery | None:
        with self.db.transaction() as session:
            row = self._delivery_row(session, subscriber_id, issue_date)
            if row is None:
                return None
            email = session.scalar(select(SubscriberRow.email).where(SubscriberRow.id == subscriber_id)) or ""
            return _to_delivery(row, email)

    def claim(
        self,
        owner: str,
        lease: timedelta,
        limit: int,
        issue_date: date | None = None,
        subscriber_ids: Collection[int] | None = None,
        skip_domains: Collection[str] = (),
    ) -> list[Delivery]:
        """Take up to `limit` rows that are ready: pending, failed_transient whose retry is due, or sending
        with an expired lease (a crashed sender's), none addressed to `skip_domains` (domains whose pace
        already holds enough in memory). One statement, UPDATE ... WHERE id IN (SELECT ...):
        atomic on SQLite, and on PostgreSQL the inner SELECT skips rows other workers hold (FOR UPDATE SKIP
        LOCKED), so concurrent claimers always get disjoint rows."""
        now = utcnow()
        ready = (
            select(DeliveryRow.id)
            .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
            .where(
                SubscriberRow.status == str(Status.ACTIVE),
                or_(
                    DeliveryRow.state == str(DeliveryState.PENDING),
                    and_(
                        DeliveryRow.state == str(DeliveryState.FAILED_TRANSIENT),
                        DeliveryRow.next_attempt_at.is_not(None),
                        DeliveryRow.next_attempt_at <= now,
                    ),
                    and_(DeliveryRow.state == str(DeliveryState.SENDING), DeliveryRow.lease_expires < now),
                ),
            )
            .order_by(DeliveryRow.id)
            .limit(limit)
        )
        if issue_date is not None:
            ready = ready.where(DeliveryRow.issue_date == issue_date)
        if subscriber_ids is not None:
            ready = ready.where(DeliveryRow.subscriber_id.in_(list(subscriber_ids)))
        for domain in sorted(skip_domains):  # addresses are stored in lower case
            ready = ready.where(~SubscriberRow.email.endswith(f"@{domain}", autoescape=True))
        if self.db.is_postgresql:
            ready = ready.with_for_update(skip_locked=True, of=DeliveryRow)
        take = (
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(ready.scalar_subquery()))
            .values(
                state=str(DeliveryState.SENDING),
                attempts=DeliveryRow.attempts + 1,
                lease_owner=owner,
                lease_expires=now + lease,
                updated_at=now,
            )
            .returning(DeliveryRow.id)
            .execution_options(synchronize_session=False)
        )
        with self.db.transaction() as session:
            ids = list(session.scalars(take))
            if not ids:
                return []
            rows = session.execute(
                select(DeliveryRow, SubscriberRow.email)
                .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
                .where(DeliveryRow.id.in_(ids))
                .order_by(DeliveryRow.id)
            ).all()
            return [_to_delivery(row, email) for row, email in rows]

    def lease_owners(self) -> set[str]:
        """Who holds rows in `sending` now."""
        query = select(DeliveryRow.lease_owner).where(DeliveryRow.state == str(DeliveryState.SENDING)).distinct()
        with self.db.transaction() as session:
            return {owner for owner in session.scalars(query) if owner}

    def renew(self, owner: str, delivery_ids: Collection[int], lease: timedelta) -> None:
        """Extend this owner's leases on rows it still holds (the heartbeat of a live sender)."""
        if not delivery_ids:
            return
        with self.db.transaction() as session:
            session.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.id.in_(list(delivery_ids)),
                    DeliveryRow.lease_owner == owner,
                    DeliveryRow.state == str(DeliveryState.SENDING),
                )
                .values(lease_expires=utcnow() + lease)
                .execution_options(synchronize_session=False)
            )

    def expire_leases(self, owners: Collection[str]) -> int:
        """Make the rows of senders known to be dead claimable at once."""
        if not owners:
            return 0
        with self.db.transaction() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.lease_owner.in_(list(owners)), DeliveryRow.state == str(DeliveryState.SENDING))
                .values(lease_expires=utcnow() - timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Write what the server said of several claimed rows in one short transaction.

        A row is `sent` only here, after its 250 (which the campaign keeps in its journal until then, so
        a crash before this commit repeats only the messages in flight). A permanent failure marks the
        reader bounced and suppresses the address; a transient one is retried at `retry_at`, or parked
        (never claimed again until `send --resend`) when `retry_at` is None.
        """
        if not outcomes:
            return
        with self.db.transaction() as session:
            self._record(session, outcomes)

    def apply_journal(self, owner: str, outcomes: Sequence[Outcome]) -> int:
        """Record the journal of a sender that is gone: only rows that sender still holds (the rest were
        committed, or taken over since); the latest outcome of a row wins. How many rows it recorded."""
        latest = {o.delivery_id: o for o in outcomes}
        ids = list(latest)
        applied = 0
        for start in range(0, len(ids), JOURNAL_CHUNK):
            chunk = ids[start : start + JOURNAL_CHUNK]
            with self.db.transaction() as session:
                held = set(
                    session.scalars(
                        select(DeliveryRow.id).where(
                            DeliveryRow.id.in_(chunk),
                            DeliveryRow.state == str(DeliveryState.SENDING),
                            DeliveryRow.lease_owner == owner,
                        )
                    )
                )
                self._record(session, [latest[i] for i in chunk if i in held])
            applied += len(held)
        return applied

    def _record(self, session: Session, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        now = utcnow()
        groups: dict[str, list[dict[str, Any]]] = {}
        for o in outcomes:
            change = {
                "id": o.delivery_id,
                "last_code": o.code,
                "last_reply": o.reply,
                "message_id": o.message_id,
                "lease_owner": None,
                "lease_expires": None,
                "updated_at": now,
            }
            if o.ok:
                change.update(state=str(DeliveryState.SENT), sent_at=now, next_attempt_at=None)
            elif o.transient:
                change.update(state=str(DeliveryState.FAILED_TRANSIENT), next_attempt_at=o.retry_at)
            else:
                change.update(state=str(DeliveryState.FAILED_PERMANENT), next_attempt_at=None)
            groups.setdefault(change["state"], []).append(change)
        # Bulk UPDATE by primary key, one executemany per kind of outcome (each sets the same columns).
        for changes in groups.values():
            session.execute(update(DeliveryRow), changes)
        rejected = [c["id"] for c in groups.get(str(DeliveryState.FAILED_PERMANENT), [])]
        if rejected:
            bounced = select(DeliveryRow.subscriber_id).where(DeliveryRow.id.in_(rejected))
            readers = SubscriberStore(self.db)
            for subscriber in session.scalars(select(SubscriberRow).where(SubscriberRow.id.in_(bounced))):
                readers.mark_bounced(subscriber, "bounce", session)

    def release(self, delivery_ids: Collection[int]) -> None:
        """Give back claimed rows never handed to the server (shutdown, a server that went away)."""
        if not delivery_ids:
            return
        with self.db.transaction() as session:
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(list(delivery_ids)), DeliveryRow.state == str(DeliveryState.SENDING))
                .values(
                    state=str(DeliveryState.PENDING),
                    attempts=DeliveryRow.attempts - 1,
                    lease_owner=None,
                    lease_expires=None,
                )
                .execution_options(synchronize_session=False)
            )

    def reopen(
        self, issue_date: date | None, subscriber_ids: Collection[int] | None = None, sent_too: bool = False
    ) -> int:
        """`send --resend`: failed_transient rows (parked ones too) become pending again; with `sent_too`
        (only with --to) the readers' sent rows as well, to re-send a digest on purpose."""
        states = [str(DeliveryState.FAILED_TRANSIENT)] + ([str(DeliveryState.SENT)] if sent_too else [])
        query = update(DeliveryRow).where(DeliveryRow.state.in_(states))
        if issue_date is not None:
            query = query.where(DeliveryRow.issue_date == issue_date)
        if subscriber_ids is not None:
            query = query.where(DeliveryRow.subscriber_id.in_(list(subscriber_ids)))
        with self.db.transaction() as session:
            result = session.execute(
                query.values(state=str(DeliveryState.PENDING), next_attempt_at=None, attempts=0).execution_options(
                    synchronize_session=False
                )
            )
            return int(result.rowcount or 0)

    def next_retry(self, issue_date: date | None) -> datetime | None:
        """When the earliest scheduled retry falls due (parked rows have none)."""
        query = select(func.min(DeliveryRow.next_attempt_at)).where(
            DeliveryRow.state == str(DeliveryState.FAILED_TRANSIENT), DeliveryRow.next_attempt_at.is_not(None)
        )
        if issue_date is not None:
            query = query.where(DeliveryRow.issue_date == issue_date)
        with self.db.transaction() as session:
            return session.scalar(query)

    def retries_scheduled(self, issue_date: date | None) -> int:
        query = select(func.count()).where(
            DeliveryRow.state == str(DeliveryState.FAILED_TRANSIENT), DeliveryRow.next_attempt_at.is_not(None)
        )
        if issue_date is not None:
            query = query.where(DeliveryRow.issue_date == issue_date)
        with self.db.transaction() as session:
            return session.scalar(query) or 0

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

    def deliveries(self, issue_date: date, subscriber_ids: Collection[int]) -> dict[int, Delivery]:
        """The ledger rows of these readers for an issue, by subscriber id (one query per batch of readers)."""
        query = (
            select(DeliveryRow, SubscriberRow.email)
            .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
            .where(DeliveryRow.issue_date == issue_date, DeliveryRow.subscriber_id.in_(list(subscriber_ids)))
        )
        with self.db.transaction() as session:
            return {row.subscriber_id: _to_delivery(row, email) for row, email in session.execute(query)}

    def status(self, issue_date: date | None = None, issues: int = 7, errors: int = 5) -> list[IssueStatus]:
        """Counts by state and the latest failures, for one issue or the most recent ones."""
        with self.db.transaction() as session:
            dates_query = select(DeliveryRow.issue_date).distinct().order_by(DeliveryRow.issue_date.desc())
            dates = [issue_date] if issue_date else list(session.scalars(dates_query.limit(issues)))
            result = []
            for day in dates:
                counts: Counter[str] = Counter()
                for state, n in session.execute(
                    select(DeliveryRow.state, func.count())
                    .where(DeliveryRow.issue_date == day)
                    .group_by(DeliveryRow.state)
                ):
                    counts[state] = n
                failures = session.execute(
                    select(DeliveryRow, SubscriberRow.email)
                    .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
                    .where(
                        DeliveryRow.issue_date == day,
                        DeliveryRow.state.in_(
                            [str(DeliveryState.FAILED_TRANSIENT), str(DeliveryState.FAILED_PERMANENT)]
                        ),
                    )
                    .order_by(DeliveryRow.updated_at.desc())
                    .limit(errors)
                ).all()
                result.append(
                    IssueStatus(
                        issue_date=day,
                        counts={str(s): counts.get(str(s), 0) for s in DeliveryState},
                        last_errors=[_to_delivery(row, email) for row, email in failures],
                    )
                )
            return result

    @staticmethod
    def _delivery_row(session: Session, subscriber_id: int, issue_date: date) -> DeliveryRow | None:
        return session.scalar(
            select(DeliveryRow).where(DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.issue_date == issue_date)
        )


def _to_delivery(row: DeliveryRow, email: str) -> Delivery:
    return Delivery(
        id=row.id,
        subscriber_id=row.subscriber_id,
        email=email,
        issue_date=row.issue_date,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        message_id=row.message_id,
        last_code=row.last_code,
        last_reply=row.last_reply,
        sent_at=row.sent_at,
    )


def _days(text: str | None) -> tuple[date, ...]:
    return tuple(date.fromisoformat(d) for d in text.split(",")) if text else ()
