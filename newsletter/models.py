"""Frozen values passed between the stages: Paper, Subscriber, Pick, Digest, Outgoing, Delivery, Outcome and friends."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
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


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED_TRANSIENT = "failed_transient"
    FAILED_PERMANENT = "failed_permanent"
    SKIPPED = "skipped"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Paper:
    """One paper, identified by its bare arXiv id; the version is kept apart."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    version: int | None = None
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    announced: date | None = None
    comment: str | None = None
    upvotes: int | None = None
    num_comments: int | None = None
    github_url: str | None = None
    project_url: str | None = None
    ai_summary: str | None = None
    sources: tuple[str, ...] = ()
    # Bulk-imported (or back-filled) knowledge: searchable and used by the ranker, never mailed as new.
    background: bool = False


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
        """The JSON shape of `subscribers show --json` (DESIGN.md §4): an export's record (the address, every
        preference, the status and feedback), then the dates and the record of consent."""
        from newsletter.subscriber_fields import record  # it reads this module's classes

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
    """Fields an operator may set (one per entry of subscriber_fields.FIELDS, then the RECORD_FIELDS that only
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


@dataclass(frozen=True)
class Why:
    """Why a paper was picked, as data that the templates format.

    `kind` is what it answers to: "topic" (one of the reader's phrases), "author", "category", "liked",
    "trending", or "note" (a reason archived before reasons were data). `subject` is that phrase, author,
    category or liked title; `words` the words of the topic as they appear in the paper (for the title, to
    make them stand out); `evidence` where the meaning came from ("like 50 papers on cs.CV, cs.LG").
    """

    kind: str
    subject: str = ""
    words: tuple[str, ...] = ()
    evidence: str = ""

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        """The reason as one plain sentence (the text part, logs, --explain)."""
        if self.kind == "topic":
            details = [", ".join(self.words)] if self.words else []
            details += [self.evidence] if self.evidence else []
            return f"your topic '{self.subject}'" + (f" ({'; '.join(details)})" if details else "")
        if self.kind == "author":
            return f"by {self.subject}, whom you follow"
        if self.kind == "category":
            return f"new in {self.subject}, a category you follow"
        if self.kind == "liked":
            return f"like '{self.subject}', which you liked"
        return self.evidence

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "subject": self.subject, "words": list(self.words), "evidence": self.evidence}

    def to_json(self) -> str:
        """How the archive keeps it (digest_items.why)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, stored: str) -> Why:
        """Back from the archive; a reason archived as a sentence, before reasons were data, stays a note."""
        try:
            data = json.loads(stored)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls("note", evidence=stored)
        words = data.get("words")
        return cls(
            str(data.get("kind", "note")),
            str(data.get("subject", "")),
            tuple(str(w) for w in words) if isinstance(words, list) else (),
            str(data.get("evidence", "")),
        )


@dataclass(frozen=True)
class Pick:
    """A paper chosen for one reader, with its score and the reason shown in the email."""

    paper: Paper
    score: float
    why: Why
    updated: bool = False
    trending: bool = False  # in the digest's "Trending today" section, after the reader's own picks


@dataclass(frozen=True)
class Digest:
    """One reader's issue: the ranked picks for the papers announced in [window_start, window_end]."""

    subscriber: Subscriber
    issue_date: date
    picks: tuple[Pick, ...]
    window_start: date
    window_end: date
    candidates: int = 0
    quiet_days: tuple[date, ...] = ()  # weekdays in the window on which nothing was announced (holidays)


@dataclass(frozen=True)
class Outgoing:
    """A rendered message ready for a Mailer: the envelope and the MIME bytes."""

    subscriber_id: int
    sender: str
    recipient: str
    subject: str
    message_id: str
    html: str
    text: str
    data: bytes


@dataclass(frozen=True)
class SendResult:
    """What the SMTP server said about one message."""

    recipient: str
    ok: bool
    code: int
    reply: str
    transient: bool = False
    # Our relay cannot take it (not the reader's address): kept for `send --resend`, not retried or bounced.
    held: bool = False


@dataclass(frozen=True)
class Delivery:
    """One row of the delivery ledger: a reader's issue and where its sending stands."""

    id: int
    subscriber_id: int
    email: str
    issue_date: date
    state: DeliveryState
    attempts: int
    message_id: str | None
    last_code: int | None
    last_reply: str | None
    sent_at: datetime | None
    created: bool = False  # opened by this very call of record_digests (not found there already)
    next_attempt_at: datetime | None = None  # a transient failure's retry; None: it waits for `send --resend`

    def next_step(self) -> str:
        """What happens next to a failed row, said to an admin (`status`)."""
        if self.state is DeliveryState.FAILED_PERMANENT:
            return "not retried"
        if self.state is not DeliveryState.FAILED_TRANSIENT:
            return ""
        if self.next_attempt_at is None:
            return "held: sent again only by `send --resend`"
        return f"retried from {self.next_attempt_at:%Y-%m-%d %H:%M} UTC (attempt {self.attempts + 1})"


@dataclass(frozen=True)
class Outcome:
    """What the server said of one claimed delivery."""

    delivery_id: int
    ok: bool
    code: int
    reply: str
    message_id: str | None = None
    transient: bool = False
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Validators:
    """What a server said identifies its answer, sent back on the next request (conditional GET)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    error: str | None = None
    validators: Validators | None = None
    problems: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """The source failed, or some of its entries could not be used."""
        return self.status in ("error", "partial")


def merge_papers(old: Paper, new: Paper) -> Paper:
    """What two sources know of one paper, combined: the newer version wins; gaps are filled from either."""
    newer, other = (new, old) if (new.version or 0) >= (old.version or 0) else (old, new)
    announced = min((d for d in (old.announced, new.announced) if d is not None), default=None)
    return Paper(
        id=old.id,
        title=newer.title or other.title,
        abstract=newer.abstract or other.abstract,
        authors=newer.authors or other.authors,
        version=newer.version or other.version,
        categories=new.categories or old.categories,
        primary_category=new.primary_category or old.primary_category,
        published=old.published or new.published,
        updated=newer.updated or other.updated,
        announced=announced,
        comment=new.comment or old.comment,
        upvotes=new.upvotes if new.upvotes is not None else old.upvotes,
        num_comments=new.num_comments if new.num_comments is not None else old.num_comments,
        github_url=new.github_url or old.github_url,
        project_url=new.project_url or old.project_url,
        ai_summary=new.ai_summary or old.ai_summary,
        sources=tuple(dict.fromkeys(old.sources + new.sources)),
        # An announcement makes a background paper news; a bulk import never makes news background.
        background=old.background and new.background,
    )
