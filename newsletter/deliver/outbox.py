"""A Mailer that writes each message as DIR/<n>.eml (for --dry-run --outbox, and as a copy of a real send)."""

from __future__ import annotations

import re
from pathlib import Path

from newsletter.errors import DeliveryError
from newsletter.models import Outgoing, SendResult


class OutboxMailer:
    name = "outbox"

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._next = 1

    async def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create outbox {self.directory}: {exc.strerror}") from None
        # Continue after the files already there rather than overwrite them.
        numbers = [int(m.group(1)) for p in self.directory.glob("*.eml") if (m := re.fullmatch(r"(\d+)\.eml", p.name))]
        self._next = max(numbers, default=0) + 1

    async def send(self, outgoing: Outgoing) -> SendResult:
        path = self.write(outgoing)
        return SendResult(outgoing.recipient, ok=True, code=250, reply=f"written to {path}")

    def write(self, outgoing: Outgoing) -> Path:
        """Write the next DIR/<n>.eml; DeliveryError (and no partial file left) when the disk refuses."""
        path = self.directory / f"{self._next}.eml"
        try:
            path.write_bytes(outgoing.data)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise DeliveryError(f"cannot write {path}: {exc.strerror}") from None
        self._next += 1
        return path

    @staticmethod
    def remove(path: Path) -> None:
        path.unlink(missing_ok=True)

    async def close(self) -> None:
        return None
