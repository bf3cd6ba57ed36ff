"""An aiosmtpd sink in its own process for the delivery benchmark: accepts and counts, keeps nothing.

Prints its port on the first line, then serves until its standard input closes.
"""

from __future__ import annotations

import sys

from aiosmtpd.controller import Controller

from newsletter.capture import free_port


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
