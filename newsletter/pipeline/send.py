"""Sending an issue: prepare (build and archive each digest), then the campaign; dry runs, the due pass."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from newsletter.config import Settings
from newsletter.deliver.mailer import Mailer, NullMailer, TeeMailer
from newsletter.deliver.outbox import OutboxMailer
from newsletter.deliver.progress import progress_view
from newsletter.deliver.smtp import SmtpPool
from newsletter.deliver.summary import Summary, Tally
from newsletter.errors import InputError
from newsletter.interrupts import SHUTDOWN
from newsletter.message import Composer
from newsletter.models import Delivery, DeliveryState, Digest, Subscriber
from newsletter.pipeline.context import Context
from newsletter.pipeline.due import due_now
from newsletter.pipeline.prepare import prepare_issue
from newsletter.pipeline.workers import SendingProcess, make_campaign
from newsletter.returns import sender_limits

log = logging.getLogger(__name__)


# Digests a send keeps from its prepare step for its own campaign (bounded: memory stays flat; the rest
# are read back from the archive as they are claimed).
FRESH_DIGESTS = 5000
PROGRESS_SECONDS = 0.2


@dataclass(frozen=True)
class SendOptions:
    issue_date: date
    to: tuple[str, ...] = ()
    dry_run: bool = False
    outbox: str | None = None
    show_progress: bool = True
    resend: bool = False
    workers: int = 1


def make_mailer(settings: Settings, options: SendOptions) -> Mailer:
    if options.dry_run:
        return OutboxMailer(options.outbox) if options.outbox else NullMailer()
    smtp = SmtpPool(settings.smtp)
    return TeeMailer(smtp, OutboxMailer(options.outbox)) if options.outbox else smtp


def _recipients(ctx: Context, options: SendOptions) -> tuple[Iterator[list[Subscriber]], int]:
    """The readers of this send, in batches, and how many there are."""
    if not options.to:
        return ctx.subscribers.due(options.issue_date), ctx.subscribers.count_due(options.issue_date)
    chosen = []
    for email in options.to:
        found = ctx.subscribers.get(email)
        if found is None:
            raise InputError(f"--to {email}: no such subscriber")
        chosen.append(found)
    return iter([chosen]), len(chosen)


def send_issue(ctx: Context, options: SendOptions) -> Summary:
    """Send one issue to every due reader (or the --to ones); safe to run again: nobody gets it twice."""
    batches, total = _recipients(ctx, options)
    if options.dry_run:
        return asyncio.run(_dry_run(ctx, batches, options))
    only = None
    if options.to:  # a handful of named readers: their deliveries only
        named = list(batches)
        only = {s.id for batch in named for s in batch}
        batches = iter(named)
    recipients = (batches, total)
    if options.resend:
        ctx.ledger.reopen(options.issue_date, only, sent_too=bool(options.to))
    with _frozen_heap():
        summary = asyncio.run(_send(ctx, recipients, options, only))
    sender_limits.warn_past_limits(ctx.mail_stats, [options.issue_date])  # rejections at SMTP time count
    return summary


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """A send makes many short-lived objects over a large long-lived heap (modules, templates, papers):
    each full collection walked all of it again, a quarter of preparing an issue. What exists when the
    send starts is set aside from collection (gc.freeze) and handed back at the end, so nothing leaks
    in a long-running scheduler."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _send(
    ctx: Context,
    recipients: tuple[Iterator[list[Subscriber]], int],
    options: SendOptions,
    only: set[int] | None,
) -> Summary:
    mailer = make_mailer(ctx.settings, options)
    # Connect before recording anything: a server that is down changes nothing.
    await mailer.open()
    halted = threading.Event()  # the send ended early: readers not yet prepared wait for the next run
    try:
        batches, total = recipients
        summary = Summary()
        fresh: dict[int, Digest] = {}  # digests just built, by reader, handed to the campaign as they are

        def keep(digest: Digest) -> None:
            if len(fresh) < FRESH_DIGESTS:
                fresh[digest.subscriber.id] = digest

        def prepare() -> None:
            for plan in prepare_issue(ctx, batches, options, on_built=keep):
                if halted.is_set() or SHUTDOWN.is_set():  # Ctrl-C or SIGTERM: the readers left wait for a re-run
                    return
                if plan.skip:
                    summary.skip(plan.subscriber.email, plan.skip)
                    log.info("skipped %s: %s", plan.subscriber.email, plan.skip)

        # The campaign sends each batch of readers as soon as it is archived, while the next is prepared: the
        # first message leaves after one batch, not after the whole issue (its CPU fits in the time the
        # campaign waits on the server). The archiving starts once the campaign's start-up work in the ledger
        # is done: on SQLite both want the one write lock, and a resumed issue's start-up could outlast the
        # archiving's wait for it. Other sending processes take an empty claim to mean "done", so with them
        # everything is archived first.
        settled = asyncio.Event()

        async def prepare_when_settled() -> None:
            await settled.wait()
            await asyncio.to_thread(prepare)

        preparing = asyncio.create_task(prepare_when_settled()) if options.workers == 1 else None
        if options.workers > 1:
            await asyncio.to_thread(prepare)
            # A claim of `smtp.batch_size` rows (100) let the first process take a smaller issue alone: each
            # process claims a few shares of it instead.
            share = max(1, -(-(total - summary.skipped) // (4 * options.workers)))
            if share < ctx.settings.smtp.batch_size:
                ctx = Context(ctx.settings.replace(smtp={"batch_size": share}), ctx.db)
        running: Summary | None = None  # this process's campaign, as it goes

        def told(run: Summary) -> None:
            nonlocal running
            running = run

        campaign = make_campaign(ctx, mailer, told)  # before any helper
        helpers = [SendingProcess(ctx.settings, options.issue_date, only) for _ in range(options.workers - 1)]

        def tally() -> Tally:  # one bar for every sending process of the send, each telling how far it got
            return sum((h.tally() for h in helpers), Tally.of(running) if running else Tally())

        # The readers to send to: fewer as the prepare step skips some (it may still be running).
        async with _progress(options, lambda: total - summary.skipped, tally):
            own, *others = await asyncio.gather(
                campaign.run(
                    options.issue_date,
                    only,
                    fresh=fresh,
                    preparing=lambda: preparing is not None and not preparing.done(),
                    settled=settled.set,
                ),
                *(asyncio.to_thread(h.result) for h in helpers),
            )
            if preparing is not None:
                await preparing  # its fault, if it failed, once what it archived is sent
    finally:
        halted.set()
        await mailer.close()
    for part in (own, *others):
        summary.add(part)
    summary.held = await asyncio.to_thread(ctx.deliveries.being_sent, options.issue_date)
    return summary


@asynccontextmanager
async def _progress(options: SendOptions, total: Callable[[], int], tally: Callable[[], Tally]) -> AsyncIterator[None]:
    """The send's progress bar (on a terminal), refreshed a few times a second from how far its sending
    processes got."""
    started = time.monotonic()
    with progress_view(options.show_progress) as view:
        task = view.add_task(f"issue {options.issue_date}", total=total(), rate=0.0, failed=0)

        def show() -> None:
            now, elapsed = tally(), time.monotonic() - started
            rate = now.sent / elapsed if elapsed else 0.0
            view.update(task, total=total(), completed=now.done, rate=rate, failed=now.failed)

        async def refresh() -> None:
            while True:
                show()
                await asyncio.sleep(PROGRESS_SECONDS)

        refresher = asyncio.create_task(refresh())
        try:
            yield
        finally:
            refresher.cancel()
            show()


async def _dry_run(ctx: Context, recipients: Iterable[list[Subscriber]], options: SendOptions) -> Summary:
    """Build every message and hand it to the null or outbox mailer; nothing is recorded."""
    mailer = make_mailer(ctx.settings, options)
    composer = Composer(ctx.settings)
    summary = Summary()
    started = time.monotonic()
    await mailer.open()
    try:
        for plan in prepare_issue(ctx, recipients, options):
            digest = plan.digest
            if digest is None and plan.delivery is not None and _would_send(plan.delivery.state, options):
                # A row of an earlier run: the send would take it up with its archived digest.
                digest = ctx.archive.load_digest(plan.subscriber, options.issue_date)
            elif plan.skip is not None or digest is None:
                summary.skip(plan.subscriber.email, plan.skip or _held(plan.delivery))
                continue
            if digest is None:
                summary.skip(plan.subscriber.email, "its archived digest is gone")
                continue
            result = await mailer.send(composer.compose(digest))
            summary.set(plan.subscriber.id, plan.subscriber.email, "sent", result.reply)
    finally:
        await mailer.close()
    summary.elapsed = time.monotonic() - started
    return summary


def _would_send(state: DeliveryState, options: SendOptions) -> bool:
    """Whether the send these options run would deliver a row already in the ledger (ledger.reopen: --resend
    retries failed rows, and with --to re-sends sent ones)."""
    if state is DeliveryState.PENDING:
        return True
    if state is DeliveryState.FAILED_TRANSIENT:
        return options.resend
    return state in (DeliveryState.SENT, DeliveryState.FAILED_PERMANENT) and options.resend and bool(options.to)


def _held(delivery: Delivery | None) -> str:
    """Why a row of an earlier run is not in a dry run: the real send may still take it."""
    if delivery is None:
        return ""
    if delivery.state is DeliveryState.SENDING:
        return "held by another sender: sent by it, or by the next send once its lease ends"
    return f"{delivery.state}: retried when due, or now with 'send --resend'"


def send_due(ctx: Context, now: datetime | None = None, show_progress: bool = False) -> list[tuple[date, Summary]]:
    """The scheduler's send pass: every reader whose hour has come gets the issue of their local date."""
    results = []
    for day, readers in sorted(due_now(ctx, now or datetime.now(UTC)).items()):
        if SHUTDOWN.is_set():
            break
        options = SendOptions(issue_date=day, show_progress=show_progress)
        summary = asyncio.run(_send(ctx, (iter([readers]), len(readers)), options, {r.id for r in readers}))
        log.info("%s", summary.line(f"issue {day} ({len(readers)} readers due)"))
        sender_limits.warn_past_limits(ctx.mail_stats, [day])
        results.append((day, summary))
    return results
