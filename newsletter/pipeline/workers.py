"""Delivering claimed rows: the campaign of one process, `send --workers N`'s helper processes and `newsletter
worker`, which claim disjoint rows of the same ledger; SHUTDOWN stops them all."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date

from newsletter import owners
from newsletter.config import Settings
from newsletter.deliver.campaign import Campaign
from newsletter.deliver.mailer import Mailer
from newsletter.deliver.smtp import SmtpPool
from newsletter.deliver.summary import Summary
from newsletter.message import Composer
from newsletter.pipeline.context import Context
from newsletter.store.journal import Journal
from newsletter.store.journal import folder as journal_folder

log = logging.getLogger(__name__)


# Set by the scheduler's and the worker's signal handlers: every send stops taking work, lets the messages
# in flight finish and gives the rest of its claimed deliveries back.
SHUTDOWN = threading.Event()


def make_campaign(ctx: Context, mailer: Mailer, show_progress: bool) -> Campaign:
    return Campaign(
        mailer=mailer,
        compose=Composer(ctx.settings).compose,
        ledger=ctx.ledger,
        archive=ctx.archive,
        subscribers=ctx.subscribers,
        settings=ctx.settings.smtp,
        journal=Journal(journal_folder(ctx.settings.paths.state, ctx.db.identity), owners.new_owner()),
        show_progress=show_progress,
        shutdown=SHUTDOWN,
    )


def deliver_in_process(settings: Settings, issue_date: date | None, only: set[int] | None) -> Summary:
    """`send --workers N`: another process claiming rows of the same issue (disjoint, by the ledger)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_deliver_with_own_context, settings, issue_date, only).result()


def _deliver_with_own_context(settings: Settings, issue_date: date | None, only: set[int] | None) -> Summary:
    ctx = Context.open(settings)
    try:
        return deliver_once(ctx, issue_date, only)
    finally:
        ctx.close()


def deliver_once(ctx: Context, issue_date: date | None, only: set[int] | None = None) -> Summary:
    """Claim and send ready rows until none are left (in this process); the body of a worker."""
    mailer = SmtpPool(ctx.settings.smtp)

    async def go() -> Summary:
        await mailer.open()
        try:
            return await make_campaign(ctx, mailer, show_progress=False).run(issue_date, only)
        finally:
            await mailer.close()

    return asyncio.run(go())


def run_worker(ctx: Context, stop: threading.Event, poll: float = 5.0, once: bool = False) -> Summary:
    """`newsletter worker`: deliver ready rows of every issue until stopped (several may share PostgreSQL)."""
    total = Summary()
    started = time.monotonic()
    while not stop.is_set():
        part = deliver_once(ctx, None)
        total.add(part)
        if part.counts:
            log.info("%s", part.line("worker"))
        if once:
            break
        stop.wait(poll)
    total.elapsed = time.monotonic() - started  # the worker's whole run, waits included, as its line says
    return total
