"""APScheduler wiring only: the daily ingest and the send pass call pipeline; SIGTERM/SIGINT stop it cleanly."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from newsletter import pipeline
from newsletter.config import Settings

log = logging.getLogger(__name__)

DAILY_JOB = "daily ingest"
SEND_JOB = "send to readers whose hour has come"


def daily_trigger(settings: Settings) -> CronTrigger:
    hour, minute = (int(part) for part in settings.schedule.ingest_at.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(settings.schedule.timezone))


def send_trigger(settings: Settings, start: datetime | None = None) -> IntervalTrigger:
    return IntervalTrigger(
        minutes=settings.schedule.send_every_minutes,
        start_date=start,
        timezone=ZoneInfo(settings.schedule.timezone),
    )


def next_runs(settings: Settings, now: datetime | None = None) -> list[tuple[str, datetime]]:
    tz = ZoneInfo(settings.schedule.timezone)
    now = now or datetime.now(tz)
    found = []
    for name, trigger in ((DAILY_JOB, daily_trigger(settings)), (SEND_JOB, send_trigger(settings, start=now))):
        when = trigger.get_next_fire_time(now, now)
        if when:
            found.append((name, when))
    return found


def build(ctx: pipeline.Context) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=ZoneInfo(ctx.settings.schedule.timezone))
    scheduler.add_job(
        ingest_until_announced,
        daily_trigger(ctx.settings),
        args=[ctx, scheduler],
        id="ingest",
        name=DAILY_JOB,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    # Also right away on start: readers whose hour passed while the daemon was down get today's issue now.
    scheduler.add_job(
        pipeline.send_due,
        send_trigger(ctx.settings),
        args=[ctx],
        id="send",
        name=SEND_JOB,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(ZoneInfo(ctx.settings.schedule.timezone)),
    )
    return scheduler


def ingest_until_announced(ctx: pipeline.Context, scheduler: BackgroundScheduler) -> None:
    """The daily ingest; while a source has nothing new yet (late announcement) or failed, try again every
    `ingest_retry_minutes` until `ingest_deadline`, so "the run succeeded but no email came" does not happen
    because the feed was late."""
    results = pipeline.run_ingest(ctx)
    waiting = [r.source for r in results if r.status in ("no_announcement", "error")]
    if not waiting:
        return
    tz = ZoneInfo(ctx.settings.schedule.timezone)
    now = datetime.now(tz)
    hour, minute = (int(p) for p in ctx.settings.schedule.ingest_deadline.split(":"))
    deadline = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    again = now + timedelta(minutes=ctx.settings.schedule.ingest_retry_minutes)
    if again <= deadline:
        log.info("no announcement yet from %s: trying again at %s", ", ".join(waiting), again.strftime("%H:%M"))
        scheduler.add_job(
            ingest_until_announced,
            "date",
            run_date=again,
            args=[ctx, scheduler],
            id="ingest-retry",
            replace_existing=True,
            name="ingest retry",
        )
    else:
        log.warning(
            "no announcement from %s by %s: today's digests carry what arrived",
            ", ".join(waiting),
            ctx.settings.schedule.ingest_deadline,
        )


def run_forever(ctx: pipeline.Context) -> None:
    """Run the jobs in a background thread until SIGTERM or SIGINT, then let the running job finish."""
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing what is in flight, then stopping", signal.Signals(signum).name)
        pipeline.SHUTDOWN.set()
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler = build(ctx)
    scheduler.start()
    for name, when in next_runs(ctx.settings):
        log.info("scheduler started: %s next at %s", name, when.isoformat())
    stopping.wait()
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
