"""The subscriber tables in SQLAlchemy Core, which tables.py maps its ORM classes onto.

Listing readers (`subscribers list`, a send's batches) needs only Core. Defining these two tables here
keeps the ORM (about a third of a short command's start-up) out of such commands.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

# Every table's metadata, the ORM's included (tables.Base uses it): foreign keys resolve across both.
metadata = MetaData()


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
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_link_key() -> str:
    """A reader's link key: 96 random bits, URL-safe (it rides inside every link token)."""
    return secrets.token_urlsafe(12)


subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), unique=True, nullable=False),
    Column("name", String(200), default="", nullable=False),
    Column("status", String(16), index=True, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("send_hour", Integer, nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("weekday", Integer),
    Column("max_items", Integer, nullable=False),
    Column("min_score", Float),
    Column("trending_items", Integer, default=0, server_default="0", nullable=False),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("confirmed_at", UTCDateTime()),
    Column("unsubscribed_at", UTCDateTime()),
    Column("consent_source", String(16), nullable=False),
    Column("consent_ip", String(64)),
    Column("consent_at", UTCDateTime()),
    Column("consent_user_agent", String(300)),
    Column("consent_form", String(32)),
    Column("link_key", String(32), default=new_link_key, nullable=False),
    # Ids are never reused (SQLite would hand a deleted reader's id to the next one without AUTOINCREMENT;
    # PostgreSQL's sequence never goes back): the Message-ID and old links name one reader for good.
    sqlite_autoincrement=True,
)

# One preference item: kind is topic, category, author, exclude, like or dislike.
preferences = Table(
    "preferences",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("position", Integer, default=0, nullable=False),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    UniqueConstraint("subscriber_id", "kind", "value"),
)
