"""Delivering claimed rows: one process's campaign, `send --workers` helpers and `newsletter worker`.

Each claims disjoint rows of the same ledger; SHUTDOWN (interrupts.py) stops them all."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from ctypes import Array, c_longlong
from datetime import date
from multiprocessing.synchronize import Event as EventType

from newsletter import owners
from newsletter.config import Settings
from newsletter.deliver.campaign import Campaign
from newsletter.deliver.mailer import Mailer
from newsletter.deliver.smtp import SmtpPool
from newsletter.deliver.summary import Summary, Tally
from newsletter.errors import DeliveryError, SmtpUnreachable
from newsletter.interrupts import SHUTDOWN, interrupts_ignored
from newsletter.message import Composer
from newsletter.pipeline.context import Context
from newsletter.store.journal import Journal
from newsletter.store.journal import folder as journal_folder

log = logging.getLogger(__name__)


MAX_UNREACHABLE_WAIT = 300.0  # seconds between a worker's tries of an SMTP server that stays down
ORPHAN_CHECK = 1.0  # seconds between a sending process's looks at whether the process that started it lives


def make_campaign(ctx: Context, mailer: Mailer, tally: Callable[[Summary], None] | None = None) -> Campaign:
    return Campaign(
        mailer=mailer,
        compose=Composer(ctx.settings).compose,
        ledger=ctx.ledger,
        archive=ctx.archive,
        subscribers=ctx.subscribers,
        settings=ctx.settings.smtp,
        journal=Journal(journal_folder(ctx.settings.paths.state, ctx.db.identity), owners.new_owner()),
        tally=tally,
        shutdown=SHUTDOWN,
    )


class SendingProcess:
    """`send --workers N`: another process claiming rows of the same issue (disjoint, by the ledger).

    It starts with Ctrl-C ignored (a terminal signals the whole group, and a process still importing would
    die with a traceback): it stops when SHUTDOWN is set here, or on its own SIGTERM, finishing cleanly."""

    def __init__(self, settings: Settings, issue_date: date | None, only: set[int] | None) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._stop = spawn.Event()
        # How far it got, for the send's progress bar. No lock: a process that died holding one would stop the
        # send's event loop for good, and a torn read only moves a bar.
        self._counts = spawn.Array("q", Tally.SIZE, lock=False)
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=spawn,
            initializer=_stops_with,
            initargs=(self._stop, os.getpid(), self._counts),
        )
        with interrupts_ignored():  # the process is started here, and keeps the disposition it starts with
            self._future = self._pool.submit(_deliver_with_own_context, settings, issue_date, only)

    def result(self) -> Summary:
        """Its summary, once it is done (blocking: run it in a thread)."""
        try:
            while True:
                try:
                    return self._future.result(timeout=0.2)
                except TimeoutError:
                    if SHUTDOWN.is_set():
                        self._stop.set()
        except BrokenProcessPool:
            raise DeliveryError("a sending process died: its claimed rows come back, run `send` again") from None
        finally:
            self._pool.shutdown()

    def tally(self) -> Tally:
        """How far it has got so far."""
        return Tally(*self._counts[:])


# In a sending process: set while no campaign runs in it; where it tells the process that started it how
# far it got.
_IDLE = threading.Event()
_COUNTS: list[Array[c_longlong]] = []


def _stops_with(stop: EventType, parent: int, counts: Array[c_longlong]) -> None:
    """In a sending process: SIGTERM, or `stop` set by the process that started it, ends its campaign cleanly.
    When that process is gone (kill -9), nobody reads its result nor gives it work, and it would wait for
    work for ever: it ends its campaign cleanly and exits (`parent` is that process: it may be gone already
    when this one has imported what it needs)."""
    signal.signal(signal.SIGTERM, lambda *_: SHUTDOWN.set())
    _IDLE.set()
    _COUNTS.append(counts)

    def watch() -> None:
        while os.getppid() == parent:  # stopped or not: its parent may be killed while it finishes
            if SHUTDOWN.is_set():
                time.sleep(ORPHAN_CHECK)
            elif stop.wait(ORPHAN_CHECK):
                SHUTDOWN.set()
        SHUTDOWN.set()
        _IDLE.wait()
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _deliver_with_own_context(settings: Settings, issue_date: date | None, only: set[int] | None) -> Summary:
    _IDLE.clear()
    try:
        ctx = Context.open(settings)
        try:
            return deliver_once(ctx, issue_date, only, _told)
        finally:
            ctx.close()
    finally:
        _IDLE.set()


def _told(summary: Summary) -> None:
    tally = Tally.of(summary)
    _COUNTS[0][:] = [tally.done, tally.sent, tally.failed]


def deliver_once(
    ctx: Context,
    issue_date: date | None,
    only: set[int] | None = None,
    tally: Callable[[Summary], None] | None = None,
) -> Summary:
    """Claim and send ready rows until none are left (in this process); the body of a worker."""
    mailer = SmtpPool(ctx.settings.smtp)

    async def go() -> Summary:
        await mailer.open()
        try:
            return await make_campaign(ctx, mailer, tally).run(issue_date, only)
        finally:
            await mailer.close()

    return asyncio.run(go())


def run_worker(ctx: Context, stop: threading.Event, poll: float = 5.0, once: bool = False) -> Summary:
    """`newsletter worker`: deliver ready rows of every issue until stopped (several may share PostgreSQL). An
    SMTP server that cannot be reached (down, going away mid-send) is one logged line and another try, later
    each time up to MAX_UNREACHABLE_WAIT: a service that exits on it is soon given up by its supervisor, and
    readers wait for a human. A refused login or a TLS setting that does not fit ends the worker: trying
    again changes nothing, and failed logins get an account locked."""
    total = Summary()
    started = time.monotonic()
    failures = 0
    while not stop.is_set():
        try:
            part = deliver_once(ctx, None)
        except SmtpUnreachable as exc:  # a refused login or a TLS setting that does not fit ends the worker
            if once:
                raise
            wait = min(poll * 2 ** min(failures, 20), MAX_UNREACHABLE_WAIT)  # days down: no float overflow
            failures += 1
            log.error("%s; trying again in %gs", exc, wait)
            stop.wait(wait)
            continue
        failures = 0
        total.add(part)
        if part.counts:
            log.info("%s", part.line("worker"))
        if once:
            break
        stop.wait(poll)
    total.elapsed = time.monotonic() - started  # the worker's whole run, waits included, as its line says
    return total
