"""The delivery ledger and the digest archive: claim / mark / reclaim, one short commit per transition."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from newsletter.models import DeliveryState, Digest, Pick, Status, Subscriber
from newsletter.store.db import Database
from newsletter.store.papers import to_paper
from newsletter.store.subscribers import SubscriberStore
from newsletter.store.tables import DeliveryRow, DigestItemRow, DigestRow, PaperRow, SubscriberRow, utcnow

_CLAIMABLE = (DeliveryState.PENDING, DeliveryState.FAILED_TRANSIENT)


@dataclass(frozen=True)
class Delivery:
    id: int
    subscriber_id: int
    email: str
    issue_date: date
    state: DeliveryState
    attempts: int
    message_id: str | None
    last_code: int | None
    last_reply: str | None
    sent_at: datetime | None


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
        query = (
            select(PaperRow.arxiv_id, func.max(DigestItemRow.version))
            .join(DigestItemRow, DigestItemRow.paper_id == PaperRow.id)
            .join(DigestRow, DigestRow.id == DigestItemRow.digest_id)
            .join(
                DeliveryRow,
                and_(DeliveryRow.digest_id == DigestRow.id, DeliveryRow.state == str(DeliveryState.SENT)),
            )
            .where(DigestRow.subscriber_id == subscriber_id)
            .group_by(PaperRow.arxiv_id)
        )
        with self.db.transaction() as session:
            return {arxiv_id: version for arxiv_id, version in session.execute(query)}

    def last_sent_issue(self, subscriber_id: int, before: date) -> date | None:
        query = select(func.max(DeliveryRow.issue_date)).where(
            DeliveryRow.subscriber_id == subscriber_id,
            DeliveryRow.state == str(DeliveryState.SENT),
            DeliveryRow.issue_date < before,
        )
        with self.db.transaction() as session:
            return session.scalar(query)

    def record_digest(self, digest: Digest, state: DeliveryState, reason: str | None = None) -> Delivery:
        """Archive the digest and open its ledger row; an existing row for the same issue is returned as is."""
        with self.db.transaction() as session:
            existing = self._delivery_row(session, digest.subscriber.id, digest.issue_date)
            if existing is not None:
                return _to_delivery(existing, digest.subscriber.email)
            row = DigestRow(
                subscriber_id=digest.subscriber.id,
                issue_date=digest.issue_date,
                window_start=digest.window_start,
                window_end=digest.window_end,
                candidates=digest.candidates,
            )
            ids = {p.paper.id for p in digest.picks}
            paper_pks: dict[str, int] = {
                arxiv_id: pk
                for arxiv_id, pk in session.execute(
                    select(PaperRow.arxiv_id, PaperRow.id).where(PaperRow.arxiv_id.in_(ids))
                )
            }
            row.items = [
                DigestItemRow(
                    paper_id=paper_pks[pick.paper.id],
                    rank=rank,
                    score=pick.score,
                    why=pick.why,
                    version=pick.paper.version,
                    updated=pick.updated,
                )
                for rank, pick in enumerate(digest.picks, start=1)
            ]
            session.add(row)
            session.flush()
            delivery = DeliveryRow(
                subscriber_id=digest.subscriber.id,
                issue_date=digest.issue_date,
                digest_id=row.id,
                state=str(state),
                last_reply=reason,
            )
            session.add(delivery)
            session.flush()
            return _to_delivery(delivery, digest.subscriber.email)

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
                Pick(paper=to_paper(item.paper), score=item.score, why=item.why, updated=item.updated)
                for item in row.items
            )
            return Digest(subscriber, row.issue_date, picks, row.window_start, row.window_end, row.candidates)

    # -- the ledger --------------------------------------------------------------------------------------

    def get(self, subscriber_id: int, issue_date: date) -> Delivery | None:
        with self.db.transaction() as session:
            row = self._delivery_row(session, subscriber_id, issue_date)
            if row is None:
                return None
            email = session.scalar(select(SubscriberRow.email).where(SubscriberRow.id == subscriber_id)) or ""
            return _to_delivery(row, email)

    def claim(self, delivery_id: int, owner: str, message_id: str, lease: timedelta) -> Delivery | None:
        """Take one row for sending (pending, failed_transient, or sending with an expired lease), or None."""
        now = utcnow()
        with self.db.transaction() as session:
            query = (
                select(DeliveryRow, SubscriberRow.email)
                .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
                .where(
                    DeliveryRow.id == delivery_id,
                    SubscriberRow.status == str(Status.ACTIVE),
                    or_(
                        DeliveryRow.state.in_([str(s) for s in _CLAIMABLE]),
                        and_(DeliveryRow.state == str(DeliveryState.SENDING), DeliveryRow.lease_expires < now),
                    ),
                )
            )
            if self.db.is_postgresql:
                query = query.with_for_update(skip_locked=True, of=DeliveryRow)
            found = session.execute(query).first()
            if found is None:
                return None
            row, email = found
            row.state = str(DeliveryState.SENDING)
            row.attempts += 1
            row.lease_owner = owner
            row.lease_expires = now + lease
            row.message_id = message_id
            session.flush()
            return _to_delivery(row, email)

    def pending_ids(self, issue_date: date, subscriber_ids: set[int] | None = None) -> list[int]:
        """Rows of this issue that still need a send, in a stable order."""
        now = utcnow()
        query = (
            select(DeliveryRow.id)
            .where(
                DeliveryRow.issue_date == issue_date,
                or_(
                    DeliveryRow.state.in_([str(s) for s in _CLAIMABLE]),
                    and_(DeliveryRow.state == str(DeliveryState.SENDING), DeliveryRow.lease_expires < now),
                ),
            )
            .order_by(DeliveryRow.id)
        )
        if subscriber_ids is not None:
            query = query.where(DeliveryRow.subscriber_id.in_(subscriber_ids))
        with self.db.transaction() as session:
            return list(session.scalars(query))

    def mark_sent(self, delivery_id: int, code: int, reply: str) -> None:
        with self.db.transaction() as session:
            row = session.get_one(DeliveryRow, delivery_id)
            row.state = str(DeliveryState.SENT)
            row.sent_at = utcnow()
            row.last_code, row.last_reply = code, reply
            row.lease_owner = row.lease_expires = None

    def mark_failed(self, delivery_id: int, code: int, reply: str, transient: bool) -> None:
        """Record a failure; a permanent one also marks the reader bounced and suppresses the address."""
        with self.db.transaction() as session:
            row = session.get_one(DeliveryRow, delivery_id)
            row.state = str(DeliveryState.FAILED_TRANSIENT if transient else DeliveryState.FAILED_PERMANENT)
            row.last_code, row.last_reply = code, reply
            row.lease_owner = row.lease_expires = None
            if not transient:
                subscriber = session.get_one(SubscriberRow, row.subscriber_id)
                subscriber.status = str(Status.BOUNCED)
                SubscriberStore(self.db).suppress(subscriber.email, "bounce", session)

    def release(self, delivery_id: int) -> None:
        """Give back a claimed row that was never handed to the server (for example on shutdown)."""
        with self.db.transaction() as session:
            row = session.get_one(DeliveryRow, delivery_id)
            if row.state == str(DeliveryState.SENDING):
                row.state = str(DeliveryState.PENDING)
                row.attempts = max(0, row.attempts - 1)
                row.lease_owner = row.lease_expires = None

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
