"""ORM tables (SQLAlchemy 2 typed mapping); the schema itself is created by the Alembic migrations."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from newsletter.store.roster import utc


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return utc(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_link_key() -> str:
    """A reader's link key: 96 random bits, URL-safe (it rides inside every link token)."""
    return secrets.token_urlsafe(12)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class PaperRow(Base):
    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int | None]
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]]
    categories: Mapped[list[str]]
    primary_category: Mapped[str | None] = mapped_column(String(64))
    published: Mapped[datetime | None]
    updated: Mapped[datetime | None]
    announced: Mapped[date | None] = mapped_column(Date, index=True)
    revised_on: Mapped[date | None] = mapped_column(Date, index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    upvotes: Mapped[int | None]
    num_comments: Mapped[int | None]
    github_url: Mapped[str | None] = mapped_column(Text)
    project_url: Mapped[str | None] = mapped_column(Text)
    ai_summary: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]]
    # "hf=<hash> arxiv=<hash>": what each source last said of this paper, so an unchanged re-ingest is a
    # string comparison instead of a decode and a merge.
    fingerprints: Mapped[str | None] = mapped_column(Text)
    # newsletter.trending.trending_score, stored at ingest so lists and digests sort by it in the database.
    # The full-text index is not mapped: an FTS5 table (SQLite, migrations 0006 and 0010) or a tsvector
    # column filled by a trigger (PostgreSQL, migration 0012), read by store/search.py.
    trending: Mapped[float | None] = mapped_column(Float, index=True)
    background: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IngestRunRow(Base):
    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(32))
    new: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)


class SubscriberRow(Base):
    __tablename__ = "subscribers"
    # Ids are never reused (SQLite would hand a deleted reader's id to the next one without AUTOINCREMENT;
    # PostgreSQL's sequence never goes back): the Message-ID and old links name one reader for good.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    send_hour: Mapped[int]
    frequency: Mapped[str] = mapped_column(String(16))
    weekday: Mapped[int | None]
    max_items: Mapped[int]
    min_score: Mapped[float | None] = mapped_column(Float)
    trending_items: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    consent_source: Mapped[str] = mapped_column(String(16))
    consent_ip: Mapped[str | None] = mapped_column(String(64))
    consent_at: Mapped[datetime | None]
    consent_user_agent: Mapped[str | None] = mapped_column(String(300))
    consent_form: Mapped[str | None] = mapped_column(String(32))
    link_key: Mapped[str] = mapped_column(String(32), default=new_link_key)

    preferences: Mapped[list[PreferenceRow]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", order_by="PreferenceRow.position"
    )


class PreferenceRow(Base):
    """One preference item: kind is topic, category, author, exclude, like or dislike."""

    __tablename__ = "preferences"
    __table_args__ = (UniqueConstraint("subscriber_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriber: Mapped[SubscriberRow] = relationship(back_populates="preferences")


class DigestRow(Base):
    """The archive of what one reader got (or will get) in one issue; the input of a resend."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("subscriber_id", "issue_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    issue_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    candidates: Mapped[int] = mapped_column(default=0)
    quiet_days: Mapped[str | None] = mapped_column(String(120))  # ISO dates, comma-separated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[DigestItemRow]] = relationship(
        back_populates="digest", cascade="all, delete-orphan", order_by="DigestItemRow.rank"
    )


class DigestItemRow(Base):
    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("digest_id", "paper_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int]
    score: Mapped[float] = mapped_column(Float)
    why: Mapped[str] = mapped_column(Text)
    version: Mapped[int | None]
    updated: Mapped[bool] = mapped_column(default=False)
    trending: Mapped[bool] = mapped_column(default=False, server_default=false())

    digest: Mapped[DigestRow] = relationship(back_populates="items")
    paper: Mapped[PaperRow] = relationship()


class DeliveryRow(Base):
    """The ledger: one row per (subscriber, issue date), moved pending → sending → sent|failed_*|skipped."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "issue_date"),
        Index("ix_deliveries_issue_state", "issue_date", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    issue_date: Mapped[date] = mapped_column(Date)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    last_code: Mapped[int | None]
    last_reply: Mapped[str | None] = mapped_column(Text)
    # Indexed: a report that quotes a Message-ID is tied to its delivery by it (newsletter.returns.returned_mail).
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SignupRequestRow(Base):
    """One confirmation mail asked for on the web: what the per-address and per-IP daily limits count."""

    __tablename__ = "signup_requests"
    __table_args__ = (
        Index("ix_signup_requests_email_hash", "email_hash", "created_at"),
        Index("ix_signup_requests_ip", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuppressionRow(Base):
    """Addresses never to be mailed again, kept only as a hash (forget leaves no address behind)."""

    __tablename__ = "suppressions"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    domain: Mapped[str | None] = mapped_column(String(255))  # for deliverability counts; None after forget
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailEventRow(Base):
    """A report that came back: hard_bounce, soft_bounce, complaint, unsubscribe (mailto:) or unattributed
    (it proved no message of ours, so nothing was done). One per message read (`message_key`)."""

    __tablename__ = "mail_events"
    __table_args__ = (
        Index("ix_mail_events_domain", "domain", "occurred_at"),
        Index("ix_mail_events_subscriber", "subscriber_id", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"), index=True)
    domain: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
