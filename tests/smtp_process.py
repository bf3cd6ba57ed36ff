"""An aiosmtpd server in a process of its own that keeps each accepted message as a file before it answers
250, so a test can kill it mid-send (kill -9) and still count what it accepted; serves until killed.

`python -m tests.smtp_process PORT FOLDER [DATA_DELAY]` prints "ready" once it listens.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Kept:
    recipient: str
    message_id: str


class KeepHandler:
    def __init__(self, folder: Path, delay: float) -> None:
        self.folder, self.delay = folder, delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        name = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex}"
        data = envelope.original_content or envelope.content
        partial = name.with_suffix(".part")
        partial.write_bytes(f"{envelope.rcpt_tos[0]}\n".encode() + bytes(data))
        partial.rename(name.with_suffix(".eml"))  # whole or absent, whenever the process is killed
        return "250 2.0.0 kept"


def kept(folder: Path) -> list[Kept]:
    """Every message the server accepted: its envelope recipient and its Message-ID."""
    found = []
    for path in folder.glob("*.eml"):
        recipient, _, data = path.read_bytes().partition(b"\n")
        message = message_from_bytes(data, policy=policy.default)
        found.append(Kept(recipient.decode(), str(message["Message-ID"])))
    return found


if __name__ == "__main__":
    port, folder = int(sys.argv[1]), Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(
        KeepHandler(folder, float(sys.argv[3]) if len(sys.argv) > 3 else 0.0), hostname="127.0.0.1", port=port
    )
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)
