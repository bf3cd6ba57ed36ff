"""Readers read as Core rows in id batches (all of them, by status, due on a date), without the ORM.

`subscribers list` needs nothing else from the store, so it starts without the ORM. A send reads its
readers in the same batches, and SubscriberStore hands its listings here.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import or_, select

from newsletter.models import Consent, Frequency, Preferences, Status, Subscriber
from newsletter.store.core_tables import preferences, subscribers
from newsletter.store.db import Database
from newsletter.subscriber_fields import LIST_FIELDS, SCALAR_FIELDS, Items

# Preference kinds as stored, mapped to the Preferences field they fill: the reader's lists, then feedback.
KINDS = {f.kind.stored: f.name for f in LIST_FIELDS if isinstance(f.kind, Items)}


class Roster:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, status: Status | None = None) -> builtins.list[Subscriber]:
        """Every subscriber (in this state), by id."""
        conditions = () if status is None else (subscribers.c.status == str(status),)
        return [subscriber for batch in self.batches(1000, *conditions) for subscriber in batch]

    def due(self, issue_date: date, batch_size: int = 1000) -> Iterator[builtins.list[Subscriber]]:
        """Active subscribers whose issue falls on this date (weekly readers on their weekday), in batches."""
        table = subscribers.c
        on_the_day = or_(table.frequency == str(Frequency.DAILY), table.weekday == issue_date.weekday())
        return self.batches(batch_size, table.status == str(Status.ACTIVE), on_the_day)

    def active(self, batch_size: int = 1000) -> Iterator[builtins.list[Subscriber]]:
        """Every active subscriber, in batches."""
        return self.batches(batch_size, subscribers.c.status == str(Status.ACTIVE))

    def batches(self, batch_size: int, *conditions: Any) -> Iterator[builtins.list[Subscriber]]:
        """Subscribers matching the conditions, `batch_size` at a time by id (keyset paging), so a list of
        any size is never held in memory at once.

        Core rows, and the page's preferences by id range rather than a thousand-item IN list: a send
        reads every reader once, and the ORM's loading was a third of its preparation."""
        after = 0
        table, prefs = subscribers.c, preferences.c
        while True:
            page = select(subscribers).where(table.id > after, *conditions).order_by(table.id)
            with self.db.reading() as conn:
                rows = conn.execute(page.limit(batch_size)).all()
                if not rows:
                    return
                items: dict[int, builtins.list[tuple[str, str]]] = {}
                for owner, kind, value in conn.execute(
                    select(prefs.subscriber_id, prefs.kind, prefs.value)
                    .where(prefs.subscriber_id.between(rows[0].id, rows[-1].id))
                    .order_by(prefs.subscriber_id, prefs.position)
                ):
                    items.setdefault(owner, []).append((kind, value))
            yield [subscriber_from(row, items.get(row.id, ())) for row in rows]
            after = rows[-1].id


def subscriber_from(row: Any, items: Iterable[tuple[str, str]]) -> Subscriber:
    """From an ORM row or a Core row of `subscribers` (same attribute names) and its (kind, value) items."""
    grouped: dict[str, builtins.list[str]] = {attr: [] for attr in KINDS.values()}
    for kind, value in items:
        grouped[KINDS[kind]].append(value)
    return Subscriber(
        id=row.id,
        email=row.email,
        status=Status(row.status),
        **{f.name: f.kind.from_stored(getattr(row, f.name)) for f in SCALAR_FIELDS},
        preferences=Preferences(**{k: tuple(v) for k, v in grouped.items()}),
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
        unsubscribed_at=row.unsubscribed_at,
        consent_source=row.consent_source,
        consent=Consent(row.consent_at, row.consent_ip, row.consent_user_agent or "", row.consent_form or "")
        if row.consent_at
        else None,
        link_key=row.link_key,
    )
