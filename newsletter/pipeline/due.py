"""Due-time arithmetic: which readers' send hour has come, and when each send slot is next due."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from newsletter.models import FINAL_STATES, Delivery, DeliveryState, Frequency, Subscriber
from newsletter.pipeline.context import Context


def due_now(ctx: Context, now: datetime) -> dict[date, list[Subscriber]]:
    """Readers whose local send hour has come today (weekly ones on their weekday) and whose issue for their
    local date a send pass would take up now (none yet, pending, or a retry that has fallen due), grouped by
    that date (the issue they get)."""
    groups: dict[date, list[Subscriber]] = {}
    for batch in ctx.subscribers.active():
        for reader in batch:
            local = now.astimezone(ZoneInfo(reader.timezone))
            if local.hour < reader.send_hour:
                continue
            if reader.frequency is Frequency.WEEKLY and local.weekday() != reader.weekday:
                continue
            groups.setdefault(local.date(), []).append(reader)
    for day, readers in list(groups.items()):
        existing = ctx.deliveries.of(day, [r.id for r in readers])
        left = [r for r in readers if r.id not in existing or _ready(existing[r.id], now)]
        if left:
            groups[day] = left
        else:
            del groups[day]
    return groups


def _ready(delivery: Delivery, now: datetime) -> bool:
    """Whether a send pass would take this row up now: not final, not held for `send --resend`, and not
    waiting for a later retry."""
    if delivery.state in FINAL_STATES:
        return False
    if delivery.state is DeliveryState.FAILED_TRANSIENT:
        return delivery.next_attempt_at is not None and delivery.next_attempt_at <= now
    return True


@dataclass(frozen=True)
class SendSlot:
    timezone: str
    send_hour: int
    readers: int
    next: datetime
    weekday: int | None = None  # weekly readers: their day (0 = Monday)
    waiting: int = 0  # readers whose hour has come without their issue yet: the next send pass takes them

    def when(self) -> str:
        """'due now (3 waiting), then 2026-12-01 07:00 UTC', or the next time alone."""
        at = f"{self.next:%Y-%m-%d %H:%M %Z}"
        return f"due now ({self.waiting} waiting), then {at}" if self.waiting else at

    def to_dict(self) -> dict[str, object]:
        """As `status --json` and `jobs --json` give it."""
        return dataclasses.asdict(self)


def send_slots(ctx: Context, now: datetime | None = None) -> list[SendSlot]:
    """When each (timezone, hour, weekday of weekly readers) bucket of readers is next due, soonest first."""
    now = now or datetime.now(UTC)
    waiting: dict[tuple[str, int, int | None], int] = {}
    for readers_due in due_now(ctx, now).values():
        for reader in readers_due:
            key = (reader.timezone, reader.send_hour, reader.weekday if reader.frequency is Frequency.WEEKLY else None)
            waiting[key] = waiting.get(key, 0) + 1
    slots = []
    for timezone, hour, weekday, readers in ctx.subscribers.send_slots():
        local = now.astimezone(ZoneInfo(timezone))
        at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if weekday is None:
            at = at if at > local else at + timedelta(days=1)
        else:
            at += timedelta(days=(weekday - local.weekday()) % 7)
            at = at if at > local else at + timedelta(days=7)
        # Readers whose issue of that day is done with already (sent by hand before their hour) get none then.
        served = ctx.deliveries.served(at.date(), timezone, hour, weekday)
        if served >= readers:
            at += timedelta(days=1 if weekday is None else 7)
        else:
            readers -= served
        slots.append(SendSlot(timezone, hour, readers, at, weekday, waiting.get((timezone, hour, weekday), 0)))
    return sorted(slots, key=lambda s: (not s.waiting, s.next))
