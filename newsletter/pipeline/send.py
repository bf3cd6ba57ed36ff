"""Sending an issue: prepare (build and archive each digest), then the campaign; workers, dry runs, the due pass."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from newsletter import owners, returned_mail
from newsletter.config import Settings
from newsletter.deliver.campaign import Campaign, Summary
from newsletter.deliver.mailer import Mailer, NullMailer, TeeMailer
from newsletter.deliver.outbox import OutboxMailer
from newsletter.deliver.smtp import SmtpMailer, SmtpPool
from newsletter.errors import InputError
from newsletter.message import Composer
from newsletter.models import Delivery, DeliveryState, Digest, SendResult, Status, Subscriber
from newsletter.pipeline.context import Context
from newsletter.pipeline.digests import DigestBuilder
from newsletter.pipeline.due import FINAL_STATES, due_now
from newsletter.render import Notice
from newsletter.store.journal import Journal
from newsletter.store.journal import folder as journal_folder

log = logging.getLogger(__name__)


# Set by the scheduler's and the worker's signal handlers: every send stops taking work, lets the messages
# in flight finish and gives the rest of its claimed deliveries back.
SHUTDOWN = threading.Event()


# Digests a send keeps from its prepare step for its own campaign (bounded: memory stays flat; the rest
# are read back from the archive as they are claimed).
FRESH_DIGESTS = 5000


async def mail_notice(ctx: Context, composer: Composer, subscriber: Subscriber, notice: Notice) -> SendResult:
    """A one-off mail (a sign-up confirmation) over the digests' SMTP settings; a failure is logged, and
    the reader can ask again. The caller keeps its composer: templates and keys are loaded once."""
    mailer = SmtpMailer(ctx.settings.smtp)
    try:
        result = await mailer.send(composer.compose_notice(subscriber, notice))
    finally:
        await mailer.close()
    if not result.ok:
        log.warning(
            "notice %r to subscriber %d not sent: %d %s", notice.subject, subscriber.id, result.code, result.reply
        )
    return result


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


def prepare_issue(
    ctx: Context,
    batches: Iterable[list[Subscriber]],
    options: SendOptions,
    on_built: Callable[[Digest], None] | None = None,
) -> Iterator[Plan]:
    """Each reader's digest for the issue, archived with a pending ledger row (or a skipped one, with why),
    one transaction per batch of readers.

    Lazy, so a dry run can stream it; readers whose row exists already keep it (a re-run neither rebuilds
    nor repeats them). `on_built` sees each digest to send whose row this call opened, as archived."""
    builder = DigestBuilder(ctx)
    send_empty = ctx.settings.digest.send_empty
    for batch in batches:
        existing = ctx.ledger.deliveries(options.issue_date, [s.id for s in batch])
        builder.preload([s for s in batch if s.id not in existing], options.issue_date)
        plans: list[Plan] = []
        to_record: list[tuple[Digest, DeliveryState, str | None]] = []
        for subscriber in batch:
            delivery = existing.get(subscriber.id)
            if subscriber.status is not Status.ACTIVE:
                plans.append(Plan(subscriber, skip=f"status is {subscriber.status}"))
            elif delivery is not None:
                final = delivery.state in FINAL_STATES
                skip = f"already {delivery.state} for {options.issue_date}" if final else None
                plans.append(Plan(subscriber, delivery=delivery, skip=skip))
            else:
                digest = builder.build(subscriber, options.issue_date)
                skip = None
                if not digest.picks and not send_empty:
                    skip = f"nothing relevant among {digest.candidates} papers"
                plans.append(Plan(subscriber, digest=digest, skip=skip))
                to_record.append((digest, DeliveryState.SKIPPED if skip else DeliveryState.PENDING, skip))
        if not options.dry_run:
            opened = {d.subscriber_id: d for d in ctx.archive.record_digests(to_record)}
            if on_built is not None:
                for digest, state, _ in to_record:
                    if state is DeliveryState.PENDING and opened[digest.subscriber.id].created:
                        on_built(digest)
            plans = [
                p if p.delivery or p.digest is None else replace(p, delivery=opened[p.subscriber.id]) for p in plans
            ]
        yield from plans


@dataclass(frozen=True)
class Plan:
    """One reader in one issue: a digest to send (and its ledger row), or a reason to skip."""

    subscriber: Subscriber
    digest: Digest | None = None
    delivery: Delivery | None = None
    skip: str | None = None


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
    returned_mail.warn_past_limits(ctx.mail_events, [options.issue_date])  # rejections at SMTP time count
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
    try:
        batches, total = recipients
        summary = Summary()
        fresh: dict[int, Digest] = {}  # digests just built, by reader, handed to the campaign as they are

        def keep(digest: Digest) -> None:
            if len(fresh) < FRESH_DIGESTS:
                fresh[digest.subscriber.id] = digest

        def prepare() -> None:
            for plan in prepare_issue(ctx, batches, options, on_built=keep):
                if plan.skip:
                    summary.skip(plan.subscriber.email, plan.skip)
                    log.info("skipped %s: %s", plan.subscriber.email, plan.skip)

        # Archive everything first, then send: overlapping the two measured slower (they share one core
        # through the GIL), and the other workers can take an empty claim to mean "done".
        await asyncio.to_thread(prepare)
        helpers = [
            asyncio.to_thread(_deliver_in_process, ctx.settings, options.issue_date, only)
            for _ in range(options.workers - 1)
        ]
        campaign = _campaign(ctx, mailer, options.show_progress)
        own, *others = await asyncio.gather(
            campaign.run(options.issue_date, only, total=total - summary.skipped, fresh=fresh), *helpers
        )
    finally:
        await mailer.close()
    for part in (own, *others):
        summary.add(part)
    return summary


def _campaign(ctx: Context, mailer: Mailer, show_progress: bool) -> Campaign:
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


def _deliver_in_process(settings: Settings, issue_date: date | None, only: set[int] | None) -> Summary:
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
            return await _campaign(ctx, mailer, show_progress=False).run(issue_date, only)
        finally:
            await mailer.close()

    return asyncio.run(go())


def run_worker(ctx: Context, stop: threading.Event, poll: float = 5.0, once: bool = False) -> Summary:
    """`newsletter worker`: deliver ready rows of every issue until stopped (several may share PostgreSQL)."""
    total = Summary()
    while not stop.is_set():
        part = deliver_once(ctx, None)
        total.add(part)
        if part.counts:
            log.info("%s", part.line("worker"))
        if once:
            break
        stop.wait(poll)
    return total


async def _dry_run(ctx: Context, recipients: Iterable[list[Subscriber]], options: SendOptions) -> Summary:
    """Build every message and hand it to the null or outbox mailer; nothing is recorded."""
    mailer = make_mailer(ctx.settings, options)
    composer = Composer(ctx.settings)
    summary = Summary()
    started = time.monotonic()
    await mailer.open()
    try:
        for plan in prepare_issue(ctx, recipients, options):
            if plan.skip is not None or plan.digest is None:
                summary.skip(plan.subscriber.email, plan.skip or "")
                continue
            result = await mailer.send(composer.compose(plan.digest))
            summary.set(plan.subscriber.id, plan.subscriber.email, "sent", result.reply)
    finally:
        await mailer.close()
    summary.elapsed = time.monotonic() - started
    return summary


def send_due(ctx: Context, now: datetime | None = None, show_progress: bool = False) -> list[tuple[date, Summary]]:
    """The scheduler's send pass: every reader whose hour has come gets the issue of their local date."""
    results = []
    for day, readers in sorted(due_now(ctx, now or datetime.now(UTC)).items()):
        if SHUTDOWN.is_set():
            break
        options = SendOptions(issue_date=day, show_progress=show_progress)
        summary = asyncio.run(_send(ctx, (iter([readers]), len(readers)), options, {r.id for r in readers}))
        log.info("%s", summary.line(f"issue {day} ({len(readers)} readers due)"))
        returned_mail.warn_past_limits(ctx.mail_events, [day])
        results.append((day, summary))
    return results
