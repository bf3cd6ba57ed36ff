"""How work stops on Ctrl-C and SIGTERM: cleanly on the first, at once on a second Ctrl-C.

Child processes started deaf to Ctrl-C (the terminal signals the whole process group, and the parent alone
decides how its work stops, saying how far it got)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Set by the commands' signal handlers: every send stops taking work, lets the messages in flight finish and
# gives the rest of its claimed deliveries back; a snapshot import stops after the batch it is storing.
SHUTDOWN = threading.Event()


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Processes started inside ignore SIGINT: a process keeps the disposition it starts with."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def stop_on_signals(stop: Callable[[], None]) -> None:
    """SIGTERM and a first Ctrl-C call `stop` (the work ends cleanly: messages in flight finish, the rest is
    given back); a second Ctrl-C stops at once."""

    def handler(signum: int, frame: object) -> None:
        stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
