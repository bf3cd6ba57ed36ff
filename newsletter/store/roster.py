"""Readers read in id batches (all of them, by status, due on a date) as plain driver rows, without the ORM.

`subscribers list` needs nothing else from the store, so it reads through store/direct.py and starts
without SQLAlchemy; a send reads its readers in the same batches through Database, and SubscriberStore
hands its listings here.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol, overload

from newsletter.models import Consent, Frequency, Preferences, Status, Subscriber
from newsletter.readers.fields import LIST_FIELDS, SCALAR_FIELDS, Items

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from newsletter.store.direct import Query

# Preference kinds as stored, mapped to the Preferences field they fill: the reader's lists, then feedback.
KINDS = {f.kind.stored: f.name for f in LIST_FIELDS if isinstance(f.kind, Items)}


class Rows(Protocol):
    """Database or store/direct.py's Direct: read transactions whose SQL goes to the driver as written."""

    @property
    def placeholder(self) -> str: ...

    def driver_reading(self) -> AbstractContextManager[Query]: ...

    def dispose(self) -> None: ...


class Roster:
    def __init__(self, db: Rows) -> None:
        self.db = db

    def list(self, status: Status | None = None) -> builtins.list[Subscriber]:
        """Every subscriber (in this state), by id."""
        conditions = [] if status is None else [("status = {}", (str(status),))]
        return [subscriber for batch in self.batches(1000, *conditions) for subscriber in batch]

    def due(self, issue_date: date, batch_size: int = 1000) -> Iterator[builtins.list[Subscriber]]:
        """Active subscribers whose issue falls on this date (weekly readers on their weekday), in batches."""
        active = ("status = {}", (str(Status.ACTIVE),))
        on_the_day = ("(frequency = {} OR weekday = {})", (str(Frequency.DAILY), issue_date.weekday()))
        return self.batches(batch_size, active, on_the_day)

    def active(self, batch_size: int = 1000) -> Iterator[builtins.list[Subscriber]]:
        """Every active subscriber, in batches."""
        return self.batches(batch_size, ("status = {}", (str(Status.ACTIVE),)))

    def batches(self, batch_size: int, *conditions: tuple[str, tuple[Any, ...]]) -> Iterator[builtins.list[Subscriber]]:
        """Subscribers matching the conditions (SQL with {} for each parameter), `batch_size` at a time by id
        (keyset paging), so a list of any size is never held in memory at once.

        Plain rows, and the page's preferences by id range rather than a thousand-item IN list: a send
        reads every reader once, and the ORM's loading was a third of its preparation."""
        mark = self.db.placeholder
        where = " AND ".join(["id > {}", *(sql for sql, _ in conditions)]).replace("{}", mark)
        page = f"SELECT * FROM subscribers WHERE {where} ORDER BY id LIMIT {mark}"
        items_sql = (
            "SELECT subscriber_id, kind, value FROM preferences "
            f"WHERE subscriber_id BETWEEN {mark} AND {mark} ORDER BY subscriber_id, position"
        )
        fixed = [value for _, values in conditions for value in values]
        after = 0
        while True:
            with self.db.driver_reading() as query:
                rows = query(page, [after, *fixed, batch_size])
                if not rows:
                    return
                items: dict[int, builtins.list[tuple[str, str]]] = {}
                for owner, kind, value in query(items_sql, [rows[0].id, rows[-1].id]):
                    items.setdefault(owner, []).append((kind, value))
            yield [subscriber_from(row, items.get(row.id, ())) for row in rows]
            after = rows[-1].id


def subscriber_from(row: Any, items: Iterable[tuple[str, str]]) -> Subscriber:
    """From an ORM row or a driver row of `subscribers` (same attribute names) and its (kind, value) items."""
    grouped: dict[str, builtins.list[str]] = {attr: [] for attr in KINDS.values()}
    for kind, value in items:
        grouped[KINDS[kind]].append(value)
    return Subscriber(
        id=row.id,
        email=row.email,
        status=Status(row.status),
        **{f.name: f.kind.from_stored(getattr(row, f.name)) for f in SCALAR_FIELDS},
        preferences=Preferences(**{k: tuple(v) for k, v in grouped.items()}),
        created_at=utc(row.created_at),
        confirmed_at=utc(row.confirmed_at),
        unsubscribed_at=utc(row.unsubscribed_at),
        consent_source=row.consent_source,
        consent=Consent(utc(row.consent_at), row.consent_ip, row.consent_user_agent or "", row.consent_form or "")
        if row.consent_at
        else None,
        link_key=row.link_key,
    )


@overload
def utc(value: None) -> None: ...
@overload
def utc(value: datetime | str) -> datetime: ...
def utc(value: datetime | str | None) -> datetime | None:
    """A stored time as an aware UTC datetime, for driver rows and the ORM's UTCDateTime alike: psycopg and
    the ORM give datetimes (naive on SQLite), SQLite's driver the naive UTC text SQLAlchemy wrote."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
