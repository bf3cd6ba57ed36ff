"""A reader: their status, preferences, record of consent and changes to them; an address never to mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


# Readers who are not mailed, whatever asks: only the reader's own confirmation (or an operator's `resume`)
# brings one back.
STOPPED = (Status.UNSUBSCRIBED, Status.BOUNCED)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Preferences:
    topics: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    liked: tuple[str, ...] = ()
    disliked: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suppression:
    """An address never to be mailed again, kept as its hash (addresses.address_hash), with why and since when."""

    email_hash: str
    reason: str
    domain: str | None
    created_at: datetime


@dataclass(frozen=True)
class Consent:
    """The record of a web sign-up: when, from where, with which browser and which version of the form."""

    at: datetime
    ip: str | None
    user_agent: str
    form: str

    def to_dict(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "ip": self.ip, "user_agent": self.user_agent, "form": self.form}


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    name: str = ""
    status: Status = Status.ACTIVE
    timezone: str = "UTC"
    send_hour: int = 7
    frequency: Frequency = Frequency.DAILY
    weekday: int | None = None
    max_items: int = 10
    min_score: float | None = None
    trending_items: int = 0  # a "Trending today" section of this many papers after the reader's picks
    preferences: Preferences = field(default_factory=Preferences)
    created_at: datetime | None = None
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    consent_source: str = "cli"
    consent: Consent | None = None
    # The random value every link token carries (tokens.py): the store makes it, `forget` erases it. Never
    # exported or shown; "" (a reader not yet stored) opens nothing.
    link_key: str = field(default="", repr=False)

    def confirmable(self, issued_at: datetime) -> bool:
        """Whether a confirmation link made at `issued_at` may activate this reader: only a pending or
        unsubscribed one, and only with a link made after their last confirmation (a link works once) and
        after their last unsubscribe (an old link replayed by a mail scanner never undoes one). A bounced
        address stays suppressed."""
        if self.status not in (Status.PENDING, Status.UNSUBSCRIBED):
            return False
        return all(issued_at > moment for moment in (self.confirmed_at, self.unsubscribed_at) if moment)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of `subscribers show --json` (the project's contract): an export's record (the address, every
        preference, the status and feedback), then the dates and the record of consent."""
        from newsletter.readers.fields import record  # it reads this module's classes

        return {
            "email": self.email,
            **record(self),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "consent_source": self.consent_source,
            "consent": self.consent.to_dict() if self.consent else None,
        }


@dataclass(frozen=True)
class SubscriberChanges:
    """Fields an operator may set (one per entry of readers/fields.py FIELDS, then the RECORD_FIELDS that only
    an import sets); None means 'leave as it is'."""

    name: str | None = None
    topics: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    authors: tuple[str, ...] | None = None
    excluded: tuple[str, ...] | None = None
    max_items: int | None = None
    min_score: float | None = None
    trending_items: int | None = None
    timezone: str | None = None
    send_hour: int | None = None
    frequency: Frequency | None = None
    weekday: int | None = None
    status: Status | None = None
    liked: tuple[str, ...] | None = None
    disliked: tuple[str, ...] | None = None
