"""The stages wired together: ingest(), build_digest(), send_issue(), send_due(); CLI and scheduler call these."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from newsletter import bounces, owners, returned_mail, selection
from newsletter.config import Settings
from newsletter.deliver.campaign import Campaign, Summary
from newsletter.deliver.mailer import Mailer, NullMailer, TeeMailer
from newsletter.deliver.outbox import OutboxMailer
from newsletter.deliver.smtp import SmtpMailer, SmtpPool
from newsletter.errors import FeedError, InputError, StoreError
from newsletter.inbox import Inbox
from newsletter.message import Composer
from newsletter.models import (
    Delivery,
    DeliveryState,
    Digest,
    Frequency,
    IngestResult,
    Outgoing,
    Paper,
    SendResult,
    Status,
    Subscriber,
)
from newsletter.render import Notice
from newsletter.returned_mail import Deliverability, ReturnedMail, ReturnSummary
from newsletter.store import (
    Background,
    Database,
    DigestArchive,
    Ledger,
    MailEventStore,
    PaperSearch,
    PaperStore,
    SubscriberStore,
)
from newsletter.store.journal import Journal
from newsletter.store.journal import folder as journal_folder

if TYPE_CHECKING:
    from newsletter.sources import ParsedFeed
    from newsletter.sources.arxiv_metadata import Batch

log = logging.getLogger(__name__)

# Set by the scheduler's and the worker's signal handlers: every send stops taking work, lets the messages
# in flight finish and gives the rest of its claimed deliveries back.
SHUTDOWN = threading.Event()

_FINAL_STATES = (DeliveryState.SENT, DeliveryState.FAILED_PERMANENT, DeliveryState.SKIPPED)
# Digests a send keeps from its prepare step for its own campaign (bounded: memory stays flat; the rest
# are read back from the archive as they are claimed).
FRESH_DIGESTS = 5000
PROGRESS_EVERY = 1000  # messages between two progress lines of `bounces import`
RECORD_BATCH = 200  # returned mails recorded per commit by `bounces import` (files stay: a re-run resumes)


@dataclass
class Context:
    """The settings and the stores of one process."""

    settings: Settings
    db: Database
    papers: PaperStore = field(init=False)
    subscribers: SubscriberStore = field(init=False)
    archive: DigestArchive = field(init=False)
    ledger: Ledger = field(init=False)
    search: PaperSearch = field(init=False)
    mail_events: MailEventStore = field(init=False)
    background: Background = field(init=False)

    def __post_init__(self) -> None:
        self.papers = PaperStore(self.db)
        self.search = PaperSearch(self.db)
        self.background = Background(self.db)
        self.subscribers = SubscriberStore(self.db)
        self.archive = DigestArchive(self.db)
        self.ledger = Ledger(self.db)
        self.mail_events = MailEventStore(self.db)

    @classmethod
    def open(cls, settings: Settings, migrate: bool = True) -> Context:
        return cls(settings, Database.open(settings, migrate))

    def close(self) -> None:
        self.db.dispose()


def today(settings: Settings) -> date:
    """The issue date: today in the schedule's timezone."""
    return datetime.now(ZoneInfo(settings.schedule.timezone)).date()


# -- ingest ------------------------------------------------------------------------------------------------


def ingest(ctx: Context, day: date, names: Sequence[str] = ()) -> list[IngestResult]:
    """Fetch each source in its own error boundary and transaction; a broken one stops no other."""
    from newsletter.sources import configured_sources  # feedparser and httpx: only ingesting loads them

    results = []
    for source in configured_sources(ctx.settings, tuple(names)):
        try:
            validators = ctx.papers.last_validators(source.name)
            result = _run(ctx, source.name, lambda s=source, v=validators: s.fetch(day, v))
            assert result is not None  # fetch always answers
            results.append(result)
        finally:
            source.close()
    return results


def backfill(ctx: Context, start: date, end: date, names: Sequence[str] = ()) -> list[IngestResult]:
    """Every day of [start, end] from each source, page by page, each page its own transaction."""
    if end < start:
        raise InputError(f"--from {start} is after --to {end}")
    from newsletter.sources import configured_sources

    results = []
    for source in configured_sources(ctx.settings, tuple(names)):
        pages = source.backfill(start, end)
        try:
            while (result := _run(ctx, source.name, lambda p=pages: next(p, None))) is not None:  # type: ignore[misc]
                results.append(result)
                if result.status == "error":
                    break
        finally:
            source.close()
    return results


def ingest_file(ctx: Context, path: str | Path, fmt: str) -> IngestResult:
    from newsletter.sources import parser_for

    parse = parser_for(fmt)

    def read() -> ParsedFeed:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise FeedError(f"cannot read feed file {path}: {exc.strerror}") from None
        return parse(data, str(path))

    result = _run(ctx, f"file:{fmt}", read)
    assert result is not None
    return result


# Problems listed in full in an import's result; the rest are counted (a broken snapshot must not fill memory).
PROBLEMS_KEPT = 20


def ingest_metadata(ctx: Context, path: str | Path, progress: Callable[[Batch], None] | None = None) -> IngestResult:
    """Import arXiv's metadata snapshot as background papers, a batch per transaction (memory stays flat; an
    interrupted import keeps what it stored and a re-run skips it by fingerprint)."""
    from newsletter.sources import ParsedFeed, arxiv_metadata
    from newsletter.sources.clean import clean_feed, strip_controls

    name = f"file:{arxiv_metadata.SOURCE}"
    started = datetime.now(UTC)
    new = updated = unchanged = errors = 0
    problems: list[str] = []
    # The next batch is parsed in a thread while this one is stored: the database's own work (full-text
    # indexing most of all) runs outside the GIL, so the two overlap on a second core.
    batches = arxiv_metadata.batches(path)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="parse") as parser:
            upcoming = parser.submit(next, batches, None)
            while (batch := upcoming.result()) is not None:
                upcoming = parser.submit(next, batches, None)
                cleaned = clean_feed(ParsedFeed(batch.papers, batch.problems), ctx.settings.ingest, name)
                counts = ctx.papers.upsert(cleaned.papers)
                new, updated, unchanged = new + counts.new, updated + counts.updated, unchanged + counts.unchanged
                errors += len(cleaned.problems)
                problems.extend(cleaned.problems[: PROBLEMS_KEPT - len(problems)])
                if progress is not None:
                    progress(batch)
    except (FeedError, StoreError) as exc:
        result = IngestResult(name, "error", new, updated, unchanged, errors, error=strip_controls(str(exc)))
    else:
        status = "partial" if errors else "ok"
        result = IngestResult(
            name, status, new, updated, unchanged, errors, problems[0] if problems else None, problems=tuple(problems)
        )
    ctx.papers.record_run(result, started)
    return result


def _run(ctx: Context, name: str, fetch: Callable[[], ParsedFeed | None]) -> IngestResult | None:
    """Fetch, clean and store one feed (None: nothing left to fetch). Every run leaves its ingest_runs row:
    a feed that fails (or a store that refuses it) is recorded as an error, never half-stored; an entry
    that cannot be used is skipped and named in the run's problems."""
    from newsletter.sources.clean import clean_feed, strip_controls

    started = datetime.now(UTC)
    try:
        parsed = fetch()
        if parsed is None:
            return None
        parsed = clean_feed(parsed, ctx.settings.ingest, name)
        result = _store(ctx, name, parsed)
    except (FeedError, StoreError) as exc:
        result = IngestResult(name, "error", error=strip_controls(str(exc)))
    ctx.papers.record_run(result, started)
    return result


def _store(ctx: Context, name: str, parsed: ParsedFeed) -> IngestResult:
    """Upsert what a feed brought; a paper with no announcement date counts as announced today."""
    problems = parsed.problems
    if parsed.not_modified:
        return IngestResult(name, "not_modified", validators=parsed.validators)
    if parsed.empty:
        return IngestResult(name, "no_announcement", validators=parsed.validators)
    seen_on = today(ctx.settings)
    papers = [p if p.announced else replace(p, announced=seen_on) for p in parsed.papers]
    counts = ctx.papers.upsert(papers, parsed.updates, today=seen_on)
    return IngestResult(
        name,
        "partial" if problems else "ok",
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged,
        errors=len(problems),
        error=problems[0] if problems else None,
        validators=parsed.validators,
        problems=problems,
    )


# -- digests -----------------------------------------------------------------------------------------------


class DigestBuilder:
    """Builds each reader's digest; candidate papers are analysed once per announcement window, and the
    archive lookups of a batch of readers are made in one query each (`preload`)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._indexes: dict[tuple[date, date], tuple[selection.Index, dict[str, selection.TopicScores]]] = {}
        self._quiet: dict[tuple[date, date], tuple[date, ...]] = {}
        self._latest: dict[date, date | None] = {}
        self._last_sent: dict[int, date] = {}
        self._sent: dict[int, dict[str, int | None]] = {}
        self._preloaded: set[int] = set()

    def preload(self, subscribers: Sequence[Subscriber], issue_date: date) -> None:
        ids = [s.id for s in subscribers]
        self._last_sent = self.ctx.archive.last_sent_many(ids, issue_date)
        self._sent = self.ctx.archive.sent_versions_many(ids)
        self._preloaded = set(ids)

    def _lookups(self, subscriber: Subscriber, issue_date: date) -> tuple[date | None, dict[str, int | None]]:
        if subscriber.id in self._preloaded:
            return self._last_sent.get(subscriber.id), self._sent.get(subscriber.id, {})
        return (
            self.ctx.archive.last_sent_issue(subscriber.id, before=issue_date),
            self.ctx.archive.sent_versions(subscriber.id),
        )

    def window(self, last_sent: date | None, issue_date: date) -> tuple[date, date] | None:
        """Papers announced since the last sent digest; a new reader gets the latest announcement."""
        if last_sent is not None:
            return last_sent + timedelta(days=1), issue_date
        if issue_date not in self._latest:
            self._latest[issue_date] = self.ctx.papers.latest_announcement(issue_date)
        latest = self._latest[issue_date]
        if latest is None:
            return None
        # The latest announcement however old it is (a quiet week must not mean a silent first digest),
        # with the days just before it.
        return latest - timedelta(days=self.ctx.settings.digest.first_digest_days - 1), issue_date

    def build(self, subscriber: Subscriber, issue_date: date, history: bool = True) -> Digest:
        """This reader's digest; without `history`, as if nothing had been sent yet (a preview of taste)."""
        last_sent, sent = self._lookups(subscriber, issue_date) if history else (None, {})
        window = self.window(last_sent, issue_date)
        if window is None:
            return Digest(subscriber, issue_date, (), issue_date, issue_date, 0)
        if window not in self._indexes:
            # One analysis of the batch and one score per distinct topic phrase, shared by every reader.
            candidates = self.ctx.papers.announced_between(*window)
            self._indexes[window] = (selection.Index(candidates, self.ctx.background.vocabulary()), {})
            self._quiet[window] = quiet_days(
                self._indexes[window][0].papers, *window, known_since=self.ctx.papers.first_announcement()
            )
        index, topic_scores = self._indexes[window]
        prefs = subscriber.preferences
        picks = selection.rank(
            subscriber,
            index,
            sent,
            topic_scores=topic_scores,
            liked=self.ctx.papers.get_many(prefs.liked),
            disliked=self.ctx.papers.get_many(prefs.disliked),
            profiles=self.ctx.background.profiles(prefs.topics, issue_date),
        )
        return Digest(subscriber, issue_date, tuple(picks), window[0], window[1], len(index.docs), self._quiet[window])

    def explain(self, subscriber: Subscriber, issue_date: date, top: int) -> list[selection.Explained]:
        """The best candidates of this reader's next digest with the parts of their scores."""
        last_sent, sent = self._lookups(subscriber, issue_date)
        window = self.window(last_sent, issue_date)
        if window is None:
            return []
        index = selection.Index(self.ctx.papers.announced_between(*window), self.ctx.background.vocabulary())
        prefs = subscriber.preferences
        return selection.explain(
            subscriber,
            index,
            sent,
            liked=self.ctx.papers.get_many(prefs.liked),
            disliked=self.ctx.papers.get_many(prefs.disliked),
            profiles=self.ctx.background.profiles(prefs.topics, issue_date),
            top=top,
        )


def quiet_days(papers: Sequence[Paper], start: date, end: date, known_since: date | None = None) -> tuple[date, ...]:
    """Weekdays of the window with no announcement: a holiday, worth saying so that a short digest is
    not taken for a fault. Only days between the first announcement ever stored (`known_since`; before
    it the service was not collecting) and the window's last one (today's may be yet to come)."""
    announced = {p.announced for p in papers if p.announced and start <= p.announced <= end}
    if not announced:
        return ()
    first = max(start, known_since + timedelta(days=1)) if known_since else start
    days = (first + timedelta(days=n) for n in range((max(announced) - first).days))
    return tuple(d for d in days if d.weekday() < 5 and d not in announced)


def build_digest(ctx: Context, subscriber: Subscriber, issue_date: date) -> Digest:
    return DigestBuilder(ctx).build(subscriber, issue_date)


def preview(ctx: Context, email: str, issue_date: date) -> Outgoing:
    """The message this reader would get for this issue (the archived one if it exists); changes nothing."""
    subscriber = ctx.subscribers.require(email)
    digest = ctx.archive.load_digest(subscriber, issue_date) or build_digest(ctx, subscriber, issue_date)
    return Composer(ctx.settings).compose(digest)


def explain(ctx: Context, email: str, issue_date: date, top: int = 15) -> list[selection.Explained]:
    """Why this reader's next digest holds what it holds: the best candidates, picked or not, with the parts
    of their scores (`preview --explain`)."""
    return DigestBuilder(ctx).explain(ctx.subscribers.require(email), issue_date, top)


def sample_digest(ctx: Context, subscriber: Subscriber) -> Digest:
    """What this reader would get today from the latest announcement, whatever was sent before: the
    preferences page's preview, which changes nothing."""
    return DigestBuilder(ctx).build(subscriber, today(ctx.settings), history=False)


# -- sending -----------------------------------------------------------------------------------------------


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
                final = delivery.state in _FINAL_STATES
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


def due_now(ctx: Context, now: datetime) -> dict[date, list[Subscriber]]:
    """Readers whose local send hour has come today (weekly ones on their weekday) and who have no final
    delivery for their local date yet, grouped by that date (the issue they get)."""
    groups: dict[date, list[Subscriber]] = {}
    for batch in ctx.subscribers.active():
        for reader in batch:
            local = now.astimezone(ZoneInfo(reader.timezone))
            if local.hour < reader.send_hour:
                continue
            if reader.frequency is Frequency.WEEKLY and local.weekday() != reader.weekday:
                continue
            groups.setdefault(local.date(), []).append(reader)
    for day, readers in list(groups.items()):
        existing = ctx.ledger.deliveries(day, [r.id for r in readers])
        left = [r for r in readers if r.id not in existing or existing[r.id].state not in _FINAL_STATES]
        if left:
            groups[day] = left
        else:
            del groups[day]
    return groups


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


@dataclass(frozen=True)
class SendSlot:
    timezone: str
    send_hour: int
    readers: int
    next: datetime
    weekday: int | None = None  # weekly readers: their day (0 = Monday)


def send_slots(ctx: Context, now: datetime | None = None) -> list[SendSlot]:
    """When each (timezone, hour, weekday of weekly readers) bucket of readers is next due, soonest first."""
    now = now or datetime.now(UTC)
    slots = []
    for timezone, hour, weekday, readers in ctx.subscribers.send_slots():
        local = now.astimezone(ZoneInfo(timezone))
        at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if weekday is None:
            at = at if at > local else at + timedelta(days=1)
        else:
            at += timedelta(days=(weekday - local.weekday()) % 7)
            at = at if at > local else at + timedelta(days=7)
        slots.append(SendSlot(timezone, hour, readers, at, weekday))
    return sorted(slots, key=lambda s: s.next)


def run_ingest(ctx: Context) -> list[IngestResult]:
    """The scheduler's daily ingest: today's announcement from every configured source."""
    results = ingest(ctx, today(ctx.settings))
    for result in results:
        if result.status == "error":
            log.error("ingest %s failed: %s", result.source, result.error)
        for problem in result.problems:
            log.warning("ingest %s: %s", result.source, problem)
    return results


def import_bounces(
    ctx: Context, paths: Sequence[str | Path], on_progress: Callable[[ReturnSummary], None] | None = None
) -> ReturnSummary:
    """`bounces import`: delivery reports, complaints and mailto: unsubscribes from files, folders,
    maildirs and mbox files; only those that prove they answer our mail act."""
    handler = ReturnedMail(ctx.settings, ctx.mail_events, batch=RECORD_BATCH)
    for source, data in bounces.read_paths(paths):
        handler.handle(source, data)
        if on_progress is not None and handler.summary.messages % PROGRESS_EVERY == 0:
            on_progress(handler.summary)
    return handler.finish()


def poll_inbox(ctx: Context) -> ReturnSummary:
    """The scheduler's inbox job (and `bounces poll`): every mail of the IMAP folder read, then moved."""
    handler = ReturnedMail(ctx.settings, ctx.mail_events)
    try:
        Inbox(ctx.settings.inbox).poll(handler.handle)
    finally:  # what was handled before the mailbox failed is recorded and counted all the same
        summary = handler.finish()
    return summary


def deliverability(ctx: Context, issue_date: date | None = None) -> Deliverability:
    """`status --deliverability`: per recipient domain and per issue, with the warnings past the limits."""
    return returned_mail.deliverability(ctx.mail_events, issue_date)
