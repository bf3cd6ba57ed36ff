"""An aiosmtpd sink in its own process for the delivery benchmark: accepts and counts, keeps nothing.

Prints its port on the first line, then serves until its standard input closes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aiosmtpd.controller import Controller

from newsletter.capture import free_port


def start() -> tuple[subprocess.Popen[str], int]:
    """Start the sink in its own process; stop it with `process.communicate("")`."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


class Count:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.count += 1
        return "250 OK"


if __name__ == "__main__":
    port = free_port()
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()
