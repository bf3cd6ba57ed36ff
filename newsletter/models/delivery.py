"""Sending: a composed message, what the server said, a ledger row and the outcome recorded for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED_TRANSIENT = "failed_transient"
    FAILED_PERMANENT = "failed_permanent"
    SKIPPED = "skipped"


# A reader's issue in one of these is done with: no send pass takes it up again on its own.
FINAL_STATES = (DeliveryState.SENT, DeliveryState.FAILED_PERMANENT, DeliveryState.SKIPPED)


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
    # The server refused us, not the reader (our sender at MAIL FROM, or a login it wants): nothing of this
    # message says anything about the reader's address, and the next one would fare the same.
    refused_sender: bool = False


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
