"""Deliverability counts for `status --deliverability` and the rate warnings: per recipient domain, per issue."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select

from newsletter.models import DeliveryState
from newsletter.store.db import Database
from newsletter.store.mail_events import COMPLAINT, HARD, SOFT, UNATTRIBUTED
from newsletter.store.tables import DeliveryRow, MailEventRow, SubscriberRow, SuppressionRow, utcnow


@dataclass(frozen=True)
class DomainCounts:
    domain: str
    days: int
    sent: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    unsubscribes: int


@dataclass(frozen=True)
class IssueRates:
    issue_date: date
    attempted: int
    bounces: int
    complaints: int

    @property
    def bounce_rate(self) -> float:
        return self.bounces / self.attempted if self.attempted else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.attempted if self.attempted else 0.0


class DeliverabilityStats:
    """Read only: what was sent, what came back and what was suppressed, counted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def domain_counts(self, days: int, now: datetime | None = None) -> list[DomainCounts]:
        """Per recipient domain over the last `days` days: messages accepted, bounces (late ones and
        rejections at SMTP time), complaints and unsubscribes (by any way: web, mailto:, complaint, CLI)."""
        since = (now or utcnow()) - timedelta(days=days)
        counts: dict[str, dict[str, int]] = {}

        def add(rows: Any, column: str) -> None:
            for name, n in rows:
                bucket = counts.setdefault(name or "(unknown)", {})
                bucket[column] = bucket.get(column, 0) + n

        domain = self._domain(SubscriberRow.email)
        with self.db.transaction() as session:
            # Bounded by issue date first (indexed): a delivery is sent on its issue's day or the next ones.
            recent = DeliveryRow.issue_date >= since.date() - timedelta(days=2)
            accepted = and_(recent, DeliveryRow.sent_at.is_not(None), DeliveryRow.sent_at >= since)
            rejected = and_(
                recent,
                DeliveryRow.sent_at.is_(None),
                DeliveryRow.state == str(DeliveryState.FAILED_PERMANENT),
                DeliveryRow.updated_at >= since,
            )
            for column, condition in (("sent", accepted), ("hard_bounces", rejected)):
                add(
                    session.execute(
                        select(domain, func.count())
                        .select_from(DeliveryRow)
                        .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
                        .where(condition)
                        .group_by(domain)
                    ),
                    column,
                )
            for kind, column in ((HARD, "hard_bounces"), (SOFT, "soft_bounces"), (COMPLAINT, "complaints")):
                add(
                    session.execute(
                        select(MailEventRow.domain, func.count())
                        .where(MailEventRow.kind == kind, MailEventRow.occurred_at >= since)
                        .group_by(MailEventRow.domain)
                    ),
                    column,
                )
            add(
                session.execute(
                    select(domain, func.count()).where(SubscriberRow.unsubscribed_at >= since).group_by(domain)
                ),
                "unsubscribes",
            )
        return [
            DomainCounts(
                name,
                days,
                c.get("sent", 0),
                c.get("hard_bounces", 0),
                c.get("soft_bounces", 0),
                c.get("complaints", 0),
                c.get("unsubscribes", 0),
            )
            for name, c in sorted(counts.items(), key=lambda item: (-item[1].get("sent", 0), item[0]))
        ]

    def suppressions_by_domain(self) -> dict[str, int]:
        query = select(SuppressionRow.domain, func.count()).group_by(SuppressionRow.domain)
        with self.db.transaction() as session:
            return {domain or "(unknown)": n for domain, n in session.execute(query)}

    def unattributed(self, days: int, now: datetime | None = None) -> int:
        since = (now or utcnow()) - timedelta(days=days)
        query = select(func.count()).where(MailEventRow.kind == UNATTRIBUTED, MailEventRow.occurred_at >= since)
        with self.db.transaction() as session:
            return session.scalar(query) or 0

    def issue_rates(self, issue_dates: Collection[date]) -> list[IssueRates]:
        """Per issue: messages handed to servers (accepted or rejected), how many of them bounced (at SMTP
        time or later) and how many drew a complaint."""
        if not issue_dates:
            return []
        days = list(issue_dates)
        attempted = and_(
            DeliveryRow.issue_date.in_(days),
            (DeliveryRow.sent_at.is_not(None)) | (DeliveryRow.state == str(DeliveryState.FAILED_PERMANENT)),
        )
        bounced_late = select(MailEventRow.delivery_id).where(MailEventRow.kind.in_([HARD, SOFT]))
        complained = select(MailEventRow.delivery_id).where(MailEventRow.kind == COMPLAINT)
        query = (
            select(
                DeliveryRow.issue_date,
                func.count(),
                func.sum(
                    _flag((DeliveryRow.state == str(DeliveryState.FAILED_PERMANENT)) | DeliveryRow.id.in_(bounced_late))
                ),
                func.sum(_flag(DeliveryRow.id.in_(complained))),
            )
            .where(attempted)
            .group_by(DeliveryRow.issue_date)
            .order_by(DeliveryRow.issue_date)
        )
        with self.db.transaction() as session:
            return [IssueRates(day, n, int(b or 0), int(c or 0)) for day, n, b, c in session.execute(query)]

    def recent_issues(self, limit: int = 7) -> list[date]:
        query = select(DeliveryRow.issue_date).distinct().order_by(DeliveryRow.issue_date.desc()).limit(limit)
        with self.db.transaction() as session:
            return list(session.scalars(query))

    def _domain(self, email: Any) -> ColumnElement[str]:
        """The part of an address after the @, in SQL."""
        if self.db.is_postgresql:
            return func.split_part(email, "@", 2)
        return func.substr(email, func.instr(email, "@") + 1)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)
