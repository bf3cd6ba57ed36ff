"""Test data builders that take overrides (pelican's tests/support.py style)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from newsletter.models import Digest, Paper, Pick, Preferences, Subscriber, Why

_ids = itertools.count(1)
ISSUE = date(2026, 11, 24)


def make_paper(**overrides: Any) -> Paper:
    n = next(_ids)
    values: dict[str, Any] = {
        "id": f"2611.{n:05d}",
        "title": f"A study of topic number {n}",
        "abstract": f"We study topic number {n} in depth. It is a fine topic and the results are good.",
        "authors": ("Alice Example", "Bob Example"),
        "version": 1,
        "published": datetime(2026, 11, 23, 12, tzinfo=UTC),
        "announced": ISSUE,
        "sources": ("hf",),
    }
    values.update(overrides)
    return Paper(**values)


def make_subscriber(**overrides: Any) -> Subscriber:
    prefs = overrides.pop("preferences", None) or Preferences(
        topics=tuple(overrides.pop("topics", ("mechanistic interpretability",))),
        categories=tuple(overrides.pop("categories", ())),
        authors=tuple(overrides.pop("authors", ())),
        excluded=tuple(overrides.pop("excluded", ())),
    )
    values: dict[str, Any] = {
        "id": 1,
        "email": "reader@example.com",
        "name": "Reader",
        "preferences": prefs,
        "link_key": "factory-link-key",
    }
    values.update(overrides)
    return Subscriber(**values)


def make_digest(papers: list[Paper], subscriber: Subscriber | None = None, **overrides: Any) -> Digest:
    picks = tuple(Pick(p, score=1.0 - i / 100, why=Why("topic", f"topic {i}")) for i, p in enumerate(papers))
    values: dict[str, Any] = {
        "subscriber": subscriber or make_subscriber(),
        "issue_date": ISSUE,
        "picks": picks,
        "window_start": ISSUE,
        "window_end": ISSUE,
        "candidates": len(papers),
    }
    values.update(overrides)
    return Digest(**values)


def insert_readers(
    ctx: Any,
    count: int,
    topics: tuple[str, ...] = ("transformer circuits",),
    send_hour: int = 7,
    max_items: int = 10,
    domain: str = "example.com",
) -> None:
    """Many active daily readers at once (bulk Core inserts), reader i with topic i % len(topics)."""
    import sqlalchemy as sa

    from newsletter.store.tables import PreferenceRow, SubscriberRow, utcnow

    now = utcnow()
    with ctx.db.engine.begin() as conn:
        first = (conn.execute(sa.select(sa.func.max(SubscriberRow.id))).scalar() or 0) + 1
        conn.execute(
            sa.insert(SubscriberRow.__table__),
            [
                {
                    "id": first + i,
                    "email": f"r{i:06d}@{domain}",
                    "name": "",
                    "status": "active",
                    "timezone": "UTC",
                    "send_hour": send_hour,
                    "frequency": "daily",
                    "max_items": max_items,
                    "consent_source": "cli",
                    "created_at": now,
                }
                for i in range(count)
            ],
        )
        conn.execute(
            sa.insert(PreferenceRow.__table__),
            [
                {
                    "subscriber_id": first + i,
                    "kind": "topic",
                    "value": topics[i % len(topics)],
                    "position": 0,
                    "created_at": now,
                }
                for i in range(count)
            ],
        )
