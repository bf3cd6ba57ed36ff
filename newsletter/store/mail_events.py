"""Mail that came back: recording bounce, complaint and unsubscribe events and acting on them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import distinct, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.models import DeliveryState, Status
from newsletter.store.db import Database
from newsletter.store.subscribers import HARD_BOUNCE, SOFT_BOUNCES, SubscriberStore
from newsletter.store.tables import DeliveryRow, MailEventRow, SubscriberRow, utcnow

HARD, SOFT, COMPLAINT, UNSUBSCRIBE, UNATTRIBUTED = (
    "hard_bounce",
    "soft_bounce",
    "complaint",
    "unsubscribe",
    "unattributed",
)
KINDS = (HARD, SOFT, COMPLAINT, UNSUBSCRIBE, UNATTRIBUTED)
# Soft bounces (mailbox full, failed after the sender's retries) suppress a reader when this many distinct
# messages bounced within this window.
SOFT_LIMIT = 3
SOFT_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class Target:
    """The reader (and, when known, the delivery) a report proved it is about."""

    subscriber_id: int
    email: str
    delivery_id: int | None = None
    issue_date: date | None = None


@dataclass(frozen=True)
class MailEvent:
    """One report to record: `target` None means it proved nothing (unattributed, never acted on)."""

    message_key: str
    kind: str
    occurred_at: datetime
    target: Target | None
    domain: str
    status: str
    detail: str
    source: str
    report: str | None = None


@dataclass(frozen=True)
class Applied:
    """What recording one event did: `duplicate` (read before, nothing done), and the reader's new state."""

    duplicate: bool = False
    suppressed: bool = False
    unsubscribed: bool = False


class MailEventStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- attribution ---------------------------------------------------------------------------------------

    def by_message_ids(self, message_ids: Collection[str]) -> Target | None:
        """The delivery one of these Message-IDs belongs to (the first found), if it is ours."""
        if not message_ids:
            return None
        query = (
            select(DeliveryRow.id, DeliveryRow.subscriber_id, DeliveryRow.issue_date, SubscriberRow.email)
            .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
            .where(DeliveryRow.message_id.in_(list(message_ids)))
            .limit(1)
        )
        with self.db.transaction() as session:
            row = session.execute(query).first()
        return Target(row.subscriber_id, row.email, row.id, row.issue_date) if row else None

    def by_delivery(self, subscriber_id: int, issue_date: date) -> Target | None:
        """A verified return path's reader and delivery (the reader alone if the row is gone)."""
        with self.db.transaction() as session:
            email = session.scalar(select(SubscriberRow.email).where(SubscriberRow.id == subscriber_id))
            if email is None:
                return None
            delivery = session.scalar(
                select(DeliveryRow.id).where(
                    DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.issue_date == issue_date
                )
            )
        return Target(subscriber_id, email, delivery, issue_date)

    def by_subscriber(self, subscriber_id: int) -> Target | None:
        with self.db.transaction() as session:
            email = session.scalar(select(SubscriberRow.email).where(SubscriberRow.id == subscriber_id))
        return Target(subscriber_id, email) if email is not None else None

    def seen(self, message_key: str) -> bool:
        with self.db.transaction() as session:
            return session.scalar(select(MailEventRow.id).where(MailEventRow.message_key == message_key)) is not None

    # -- recording and acting ------------------------------------------------------------------------------

    def record(self, events: Sequence[MailEvent]) -> list[Applied]:
        """Record the events and act on their readers, in order, in one transaction (a backlog of thousands
        costs one commit per batch, not one each); a message recorded before does nothing. Should another
        process record one of them at the same moment, each is retried in a transaction of its own."""
        try:
            with self.db.transaction() as session:
                return [self._record(session, event) for event in events]
        except IntegrityError:
            if len(events) == 1:
                return [Applied(duplicate=True)]
            return [applied for event in events for applied in self.record([event])]

    def _record(self, session: Session, event: MailEvent) -> Applied:
        if session.scalar(select(MailEventRow.id).where(MailEventRow.message_key == event.message_key)):
            return Applied(duplicate=True)
        target = event.target
        session.add(
            MailEventRow(
                message_key=event.message_key,
                kind=event.kind,
                occurred_at=event.occurred_at,
                subscriber_id=target.subscriber_id if target else None,
                delivery_id=target.delivery_id if target else None,
                domain=event.domain[:255],
                status=event.status[:32],
                detail=event.detail,
                report=event.report,
                source=event.source,
            )
        )
        session.flush()
        return Applied() if target is None else self._act(session, event, target)

    def _act(self, session: Session, event: MailEvent, target: Target) -> Applied:
        subscriber = session.get(SubscriberRow, target.subscriber_id)
        if subscriber is None:
            return Applied()
        reason = f"{event.status} {event.detail}".strip()
        if event.kind == HARD or (event.kind == SOFT and self._soft_bounces(session, target) >= SOFT_LIMIT):
            SubscriberStore(self.db).mark_bounced(
                subscriber, HARD_BOUNCE if event.kind == HARD else SOFT_BOUNCES, session
            )
            if target.delivery_id is not None:
                session.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.id == target.delivery_id)
                    .values(state=str(DeliveryState.FAILED_PERMANENT), last_code=550, last_reply=reason[:2000])
                    .execution_options(synchronize_session=False)
                )
            return Applied(suppressed=True)
        if event.kind in (COMPLAINT, UNSUBSCRIBE):
            if subscriber.status != str(Status.BOUNCED):
                if subscriber.status != str(Status.UNSUBSCRIBED):
                    subscriber.unsubscribed_at = utcnow()
                subscriber.status = str(Status.UNSUBSCRIBED)
            if event.kind == COMPLAINT:
                SubscriberStore(self.db).suppress(subscriber.email, "complaint", session)
            return Applied(suppressed=event.kind == COMPLAINT, unsubscribed=True)
        return Applied()

    @staticmethod
    def _soft_bounces(session: Session, target: Target) -> int:
        """Distinct messages of this reader that bounced softly within the window (this one included)."""
        since = utcnow() - SOFT_WINDOW
        return (
            session.scalar(
                select(func.count(distinct(func.coalesce(MailEventRow.delivery_id, -MailEventRow.id)))).where(
                    MailEventRow.subscriber_id == target.subscriber_id,
                    MailEventRow.kind == SOFT,
                    MailEventRow.occurred_at >= since,
                )
            )
            or 0
        )
