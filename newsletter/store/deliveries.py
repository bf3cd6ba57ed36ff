"""The delivery ledger read back: one reader's row, a batch's rows, the readers a send slot served, `status`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from newsletter.models import FINAL_STATES, Delivery, DeliveryState, Frequency, Status
from newsletter.store.db import Database
from newsletter.store.tables import DeliveryRow, SubscriberRow


@dataclass(frozen=True)
class IssueStatus:
    issue_date: date
    counts: dict[str, int]
    last_errors: list[Delivery]

    def to_dict(self) -> dict[str, Any]:
        """As `status --json` gives it."""
        errors = [
            {
                "email": e.email,
                "state": e.state,
                "code": e.last_code,
                "reply": e.last_reply,
                "attempts": e.attempts,
                "next_attempt_at": e.next_attempt_at,
            }
            for e in self.last_errors
        ]
        return {"issue_date": self.issue_date, "counts": self.counts, "last_errors": errors}


class Deliveries:
    """Questions about the ledger's rows; the ledger itself (store/ledger.py) moves them from state to state."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, subscriber_id: int, issue_date: date) -> Delivery | None:
        with self.db.transaction() as session:
            row = self._delivery_row(session, subscriber_id, issue_date)
            if row is None:
                return None
            email = session.scalar(select(SubscriberRow.email).where(SubscriberRow.id == subscriber_id)) or ""
            return to_delivery(row, email)

    def being_sent(self, issue_date: date) -> int:
        """Rows of an issue in `sending`: once a send's own senders are done, held by another (a send running
        beside it, or one that died)."""
        query = select(func.count()).where(
            DeliveryRow.state == str(DeliveryState.SENDING), DeliveryRow.issue_date == issue_date
        )
        with self.db.transaction() as session:
            return session.scalar(query) or 0

    def of(self, issue_date: date, subscriber_ids: Collection[int]) -> dict[int, Delivery]:
        """The ledger rows of these readers for an issue, by subscriber id (one query per batch of readers)."""
        query = (
            select(DeliveryRow, SubscriberRow.email)
            .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
            .where(DeliveryRow.issue_date == issue_date, DeliveryRow.subscriber_id.in_(list(subscriber_ids)))
        )
        with self.db.transaction() as session:
            return {row.subscriber_id: to_delivery(row, email) for row, email in session.execute(query)}

    def served(self, issue_date: date, timezone: str, send_hour: int, weekday: int | None) -> int:
        """Active readers of one send slot (weekday: of weekly readers; None: daily ones) whose issue of this
        date no send pass takes up (sent, refused for good, skipped, or held for `send --resend`): a send by
        hand before their hour."""
        frequency = Frequency.DAILY if weekday is None else Frequency.WEEKLY
        query = (
            select(func.count())
            .select_from(DeliveryRow)
            .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
            .where(
                DeliveryRow.issue_date == issue_date,
                or_(
                    DeliveryRow.state.in_([str(s) for s in FINAL_STATES]),
                    and_(
                        DeliveryRow.state == str(DeliveryState.FAILED_TRANSIENT), DeliveryRow.next_attempt_at.is_(None)
                    ),
                ),
                SubscriberRow.status == str(Status.ACTIVE),
                SubscriberRow.timezone == timezone,
                SubscriberRow.send_hour == send_hour,
                SubscriberRow.frequency == str(frequency),
            )
        )
        if weekday is not None:
            query = query.where(SubscriberRow.weekday == weekday)
        with self.db.transaction() as session:
            return int(session.scalar(query) or 0)

    def status(self, issue_date: date | None = None, issues: int = 7, errors: int = 5) -> list[IssueStatus]:
        """Counts by state and the latest failures, for one issue or the most recent ones, and any older issue
        with rows still to send (pending or being sent): a back-dated send interrupted must not hide."""
        with self.db.transaction() as session:
            dates_query = select(DeliveryRow.issue_date).distinct().order_by(DeliveryRow.issue_date.desc())
            if issue_date:
                dates = [issue_date]
            else:
                dates = list(session.scalars(dates_query.limit(issues)))
                unfinished = dates_query.where(
                    DeliveryRow.state.in_([str(DeliveryState.PENDING), str(DeliveryState.SENDING)])
                )
                dates += [day for day in session.scalars(unfinished) if day not in dates]
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
                        last_errors=[to_delivery(row, email) for row, email in failures],
                    )
                )
            return result

    @staticmethod
    def _delivery_row(session: Session, subscriber_id: int, issue_date: date) -> DeliveryRow | None:
        return session.scalar(
            select(DeliveryRow).where(DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.issue_date == issue_date)
        )


def to_delivery(row: DeliveryRow, email: str) -> Delivery:
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
        next_attempt_at=row.next_attempt_at,
    )
