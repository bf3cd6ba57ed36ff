"""Child processes started deaf to Ctrl-C: the terminal signals the whole process group, and the parent alone
decides how its work stops (cleanly, saying how far it got)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


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
