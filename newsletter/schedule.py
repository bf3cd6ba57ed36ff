"""APScheduler wiring only: the daily ingest and the send pass call pipeline; SIGTERM/SIGINT stop it cleanly.

Jobs live in the application's own database (APScheduler's SQLAlchemy job store), so a pending ingest retry
survives a restart. A stored job is its function's name and no arguments (never the settings: they hold
the SMTP password and the secret key); it finds this process's Context, settings included, through
`_context` when it runs.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from newsletter import interrupts, pipeline
from newsletter.config import Settings, hour_minute
from newsletter.errors import NewsletterError

log = logging.getLogger(__name__)

DAILY_JOB = "daily ingest"
SEND_JOB = "send to readers whose hour has come"
INBOX_JOB = "read returned mail from the IMAP inbox"
JOB_TABLE = "apscheduler_jobs"

# The running process's context and scheduler (stored jobs carry nothing but their function's name).
_running: dict[str, object] = {}


def daily_trigger(settings: Settings) -> CronTrigger:
    hour, minute = hour_minute(settings.schedule.ingest_at)
    return CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(settings.schedule.timezone))


def send_trigger(settings: Settings, start: datetime | None = None) -> IntervalTrigger:
    return IntervalTrigger(
        minutes=settings.schedule.send_every_minutes,
        start_date=start,
        timezone=ZoneInfo(settings.schedule.timezone),
    )


def inbox_trigger(settings: Settings, start: datetime | None = None) -> IntervalTrigger:
    return IntervalTrigger(
        minutes=settings.inbox.poll_minutes, start_date=start, timezone=ZoneInfo(settings.schedule.timezone)
    )


def next_runs(settings: Settings, now: datetime | None = None) -> list[tuple[str, datetime]]:
    tz = ZoneInfo(settings.schedule.timezone)
    now = now or datetime.now(tz)
    found = []
    triggers = [(DAILY_JOB, daily_trigger(settings)), (SEND_JOB, send_trigger(settings, start=now))]
    if settings.inbox.host:
        triggers.append((INBOX_JOB, inbox_trigger(settings, start=now)))
    for name, trigger in triggers:
        when = trigger.get_next_fire_time(now, now)
        if when:
            found.append((name, when))
    return found


def catch_up_ingest(ctx: pipeline.Context) -> None:
    """Today's ingest, when its time passed while no scheduler ran (a deploy, a reboot): before the scheduler
    starts, so that the send pass it starts with mails today's papers. Replacing the stored job works its
    next run out from now, and would have skipped today's ingest altogether."""
    if pipeline.ingest_missed(ctx):
        log.info("today's ingest time passed with no scheduler running: ingesting now")
        scheduled_ingest()


def _context() -> pipeline.Context:
    found = _running.get("context")
    assert isinstance(found, pipeline.Context), "scheduled jobs run inside `newsletter run`"
    return found


def scheduled_ingest() -> None:
    """The daily ingest; while a source has nothing new yet (late announcement) or failed, try again every
    `ingest_retry_minutes` until `ingest_deadline`, so a late feed does not mean a silent day."""
    ctx = _context()
    settings = ctx.settings
    try:
        results = pipeline.run_ingest(ctx)
    except NewsletterError as exc:  # the database itself failed: every source is tried again
        log.error("ingest failed: %s", exc)
        waiting = ["every source"]
    else:
        waiting = [r.source for r in results if r.status in ("no_announcement", "error")]
    if not waiting:
        return
    tz = ZoneInfo(settings.schedule.timezone)
    now = datetime.now(tz)
    deadline = settings.schedule.at(settings.schedule.ingest_deadline, now)
    again = now + timedelta(minutes=settings.schedule.ingest_retry_minutes)
    scheduler = _running.get("scheduler")
    if again <= deadline and scheduler is not None:
        log.info("no announcement yet from %s: trying again at %s", ", ".join(waiting), again.strftime("%H:%M"))
        scheduler.add_job(  # type: ignore[attr-defined]
            scheduled_ingest,
            "date",
            run_date=again,
            id="ingest-retry",
            name="ingest retry",
            replace_existing=True,
        )
    elif again > deadline:
        log.warning(
            "no announcement from %s by %s: today's digests carry what arrived",
            ", ".join(waiting),
            settings.schedule.ingest_deadline,
        )


def scheduled_send() -> None:
    """The send pass; a failure (the SMTP server down) is one logged line with its cause, and the readers it
    did not reach are due again at the next pass. APScheduler's own report was a traceback in text logs and,
    in JSON logs, a line without the cause."""
    try:
        pipeline.send_due(_context())
    except NewsletterError as exc:
        log.error("send: %s", exc)


def scheduled_inbox() -> None:
    """Bounces, complaints and mailto: unsubscribes from the IMAP inbox; a failure waits for the next poll."""
    ctx = _context()
    if not ctx.settings.inbox.host:  # a job stored while an inbox was configured
        return
    try:
        summary = pipeline.poll_inbox(ctx)
    except NewsletterError as exc:
        log.error("inbox: %s", exc)
        return
    if summary.messages:
        log.info("inbox: %s", summary.line())


def build(ctx: pipeline.Context) -> BackgroundScheduler:
    tz = ZoneInfo(ctx.settings.schedule.timezone)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=ctx.db.engine, tablename=JOB_TABLE)}, timezone=tz
    )
    common = {"max_instances": 1, "coalesce": True, "replace_existing": True}
    scheduler.add_job(
        scheduled_ingest, daily_trigger(ctx.settings), id="ingest", name=DAILY_JOB, misfire_grace_time=3600, **common
    )
    # Due at start, and run however late (a catch-up ingest runs first; APScheduler's default grace is 1 s):
    # readers whose hour passed while the daemon was down get today's issue now. No arguments: a stored job
    # must not carry the settings (the SMTP and IMAP passwords among them).
    at_start = {"next_run_time": datetime.now(tz), "misfire_grace_time": None, **common}
    scheduler.add_job(scheduled_send, send_trigger(ctx.settings), id="send", name=SEND_JOB, **at_start)
    if ctx.settings.inbox.host:
        scheduler.add_job(scheduled_inbox, inbox_trigger(ctx.settings), id="inbox", name=INBOX_JOB, **at_start)
    return scheduler


def run_forever(ctx: pipeline.Context) -> None:
    """Run the jobs in a background thread until SIGTERM or Ctrl-C, then let the running job finish (a second
    Ctrl-C stops at once)."""
    stopping = threading.Event()

    def stop() -> None:
        log.info("asked to stop: finishing what is in flight, then stopping")
        pipeline.SHUTDOWN.set()
        stopping.set()

    interrupts.stop_on_signals(stop)
    _running["context"] = ctx
    scheduler = build(ctx)
    _running["scheduler"] = scheduler
    catch_up_ingest(ctx)
    if stopping.is_set():  # asked to stop during the catch-up: no job starts
        log.info("scheduler stopped")
        return
    scheduler.start()
    for job in scheduler.get_jobs():
        log.info("scheduler started: %s next at %s", job.name, job.next_run_time.isoformat())
    stopping.wait()
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
