"""The Mailer protocol the campaign depends on, the reply classification, and the null and tee mailers."""

from __future__ import annotations

from typing import Protocol

from newsletter.deliver.outbox import OutboxMailer
from newsletter.models import Outgoing, SendResult

# A socket-level failure is reported like a temporary SMTP reply (as mailman does).
CONNECTION_LOST = 444


def is_transient(code: int) -> bool:
    """4xx, connection trouble and 552 (mailbox full: it may empty) are worth retrying; other 5xx are not."""
    return 400 <= code < 500 or code == 552


class Mailer(Protocol):
    name: str

    async def open(self) -> None: ...

    async def send(self, outgoing: Outgoing) -> SendResult: ...

    async def close(self) -> None: ...


class NullMailer:
    """Sends nothing: `send --dry-run` without an outbox."""

    name = "null"

    async def open(self) -> None:
        return None

    async def send(self, outgoing: Outgoing) -> SendResult:
        return SendResult(outgoing.recipient, ok=True, code=250, reply="dry run: not sent")

    async def close(self) -> None:
        return None


class TeeMailer:
    """Sends through `primary` and keeps a copy of every accepted message in `copy` (`--outbox` on a send).

    The copy is written first and removed if the server refuses the message: a disk that cannot take it
    (full, read-only) stops the send before the message goes out, never after it was accepted."""

    def __init__(self, primary: Mailer, copy: OutboxMailer) -> None:
        self.primary, self.copy = primary, copy
        self.name = f"{primary.name}+{copy.name}"

    async def open(self) -> None:
        await self.primary.open()
        await self.copy.open()

    async def send(self, outgoing: Outgoing) -> SendResult:
        path = self.copy.write(outgoing)
        try:
            result = await self.primary.send(outgoing)
        except BaseException:  # cancelled mid-send: not known to be accepted, so no copy
            self.copy.remove(path)
            raise
        if not result.ok:
            self.copy.remove(path)
        return result

    async def close(self) -> None:
        await self.primary.close()
        await self.copy.close()
