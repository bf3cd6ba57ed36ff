"""Scheduling: each reader at their local hour (time zones, DST, weekly readers, catch-up), next run times,
and `newsletter run` as a real process: the due reader mailed within seconds, SIGTERM ends it cleanly."""

import os
import pickle
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter import pipeline
from newsletter.capture import CaptureServer
from newsletter.demo import SAMPLE_FEED
from newsletter.models import Frequency, SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.schedule import DAILY_JOB, SEND_JOB, next_runs
from tests.conftest import base_settings
from tests.factories import insert_readers, make_paper


def test_next_runs_in_the_configured_timezone() -> None:
    settings = base_settings(schedule={"ingest_at": "01:30", "timezone": "Asia/Tokyo", "send_every_minutes": 5})
    runs = dict(next_runs(settings, now=datetime(2026, 11, 24, 12, 0, tzinfo=UTC)))  # 21:00 in Tokyo
    assert runs[DAILY_JOB].isoformat() == "2026-11-25T01:30:00+09:00"
    assert (runs[SEND_JOB] - datetime(2026, 11, 24, 12, 0, tzinfo=UTC)).total_seconds() == 300


@pytest.fixture
def readers(ctx):
    ctx.papers.upsert(
        [make_paper(title="Circuits in language models", abstract="interpretability", announced=date(2026, 3, 6))]
    )

    def add(email: str, timezone: str, hour: int, **kw):
        changes = SubscriberChanges(topics=("circuits in language models",), timezone=timezone, send_hour=hour, **kw)
        return subscriptions.add(ctx.settings, ctx.subscribers, email, changes)

    return add


def due(ctx, when: datetime) -> dict[str, date]:
    return {r.email: day for day, rs in pipeline.due_now(ctx, when).items() for r in rs}


def test_each_reader_at_their_local_hour(ctx, readers) -> None:
    readers("utc@example.com", "UTC", 7)
    readers("tokyo@example.com", "Asia/Tokyo", 7)
    readers("ny@example.com", "America/New_York", 7)
    # 21:59 UTC on 5 March is 06:59 on 6 March in Tokyo: not yet; at 22:00 Tokyo's issue of 6 March is due.
    assert "tokyo@example.com" not in due(ctx, datetime(2026, 3, 5, 21, 59, tzinfo=UTC))
    assert due(ctx, datetime(2026, 3, 5, 22, 0, tzinfo=UTC))["tokyo@example.com"] == date(2026, 3, 6)
    assert "utc@example.com" not in due(ctx, datetime(2026, 3, 6, 6, 59, tzinfo=UTC))
    assert due(ctx, datetime(2026, 3, 6, 7, 0, tzinfo=UTC))["utc@example.com"] == date(2026, 3, 6)
    assert "ny@example.com" not in due(ctx, datetime(2026, 3, 6, 11, 59, tzinfo=UTC))  # 06:59 EST
    assert due(ctx, datetime(2026, 3, 6, 12, 0, tzinfo=UTC))["ny@example.com"] == date(2026, 3, 6)


def test_new_york_across_the_dst_change(ctx, readers) -> None:
    readers("ny@example.com", "America/New_York", 7)
    # 8 March 2026: clocks go forward; 07:00 local is now 11:00 UTC, not 12:00.
    assert "ny@example.com" not in due(ctx, datetime(2026, 3, 8, 10, 59, tzinfo=UTC))
    assert due(ctx, datetime(2026, 3, 8, 11, 0, tzinfo=UTC)) == {"ny@example.com": date(2026, 3, 8)}


def test_weekly_reader_only_on_their_weekday(ctx, readers) -> None:
    readers("weekly@example.com", "UTC", 6, frequency=Frequency.WEEKLY, weekday=4)  # Friday
    assert due(ctx, datetime(2026, 3, 5, 9, 0, tzinfo=UTC)) == {}  # Thursday
    assert due(ctx, datetime(2026, 3, 6, 9, 0, tzinfo=UTC)) == {"weekly@example.com": date(2026, 3, 6)}


def test_catch_up_after_downtime_and_never_twice(ctx, readers, smtp_server) -> None:
    readers("utc@example.com", "UTC", 7)
    # The daemon was down at 07:00; at 15:00 the same day the reader still gets the day's issue.
    [(day, summary)] = pipeline.send_due(ctx, datetime(2026, 3, 6, 15, 0, tzinfo=UTC))
    assert day == date(2026, 3, 6) and summary.sent == 1
    assert pipeline.send_due(ctx, datetime(2026, 3, 6, 15, 5, tzinfo=UTC)) == []
    assert len(smtp_server.messages) == 1


def test_slots_say_who_is_due_now_not_tomorrow(ctx, readers, smtp_server) -> None:
    readers("a@example.com", "UTC", 7)
    readers("b@example.com", "UTC", 7)
    readers("later@example.com", "UTC", 20)
    at = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # past 07:00: both are due now, until the send pass runs
    due_now, later = pipeline.send_slots(ctx, at)
    assert (due_now.send_hour, due_now.waiting, due_now.next) == (7, 2, datetime(2026, 3, 7, 7, 0, tzinfo=UTC))
    assert due_now.when() == "due now (2 waiting), then 2026-03-07 07:00 UTC"
    assert (later.waiting, later.when()) == (0, "2026-03-06 20:00 UTC")
    smtp_server.handler.refuse["b@example.com"] = 554  # 5.7.1: held for `send --resend`, not for the pass
    pipeline.send_due(ctx, at)
    assert [s.waiting for s in pipeline.send_slots(ctx, at)] == [0, 0]  # sent (or held): next due tomorrow
    assert pipeline.send_due(ctx, at) == [] and due(ctx, at) == {}


def test_a_slot_does_not_count_readers_already_sent_that_days_issue(ctx, readers, smtp_server) -> None:
    """A send by hand at 00:25 UTC mails the Berlin reader her issue of 1 December before her 07:00: the slot
    then says her next mail is on 2 December, and a second reader of the slot still counts on the 1st."""
    readers("ada@example.com", "Europe/Berlin", 7)
    at = datetime(2026, 12, 1, 0, 25, tzinfo=UTC)
    options = pipeline.SendOptions(issue_date=date(2026, 12, 1), show_progress=False, to=("ada@example.com",))
    assert pipeline.send_issue(ctx, options).sent == 1
    berlin = ZoneInfo("Europe/Berlin")
    [slot] = pipeline.send_slots(ctx, at)
    assert (slot.readers, slot.next) == (1, datetime(2026, 12, 2, 7, 0, tzinfo=berlin))
    # One held for `send --resend` (a 5.7.1 refusal: no retry of its own) is not mailed at the hour either.
    readers("cy@example.com", "Europe/Berlin", 7)
    smtp_server.handler.refuse["cy@example.com"] = 554
    held = pipeline.SendOptions(issue_date=date(2026, 12, 1), show_progress=False, to=("cy@example.com",))
    assert pipeline.send_issue(ctx, held).failed_transient == 1
    [slot] = pipeline.send_slots(ctx, at)
    assert (slot.readers, slot.next) == (2, datetime(2026, 12, 2, 7, 0, tzinfo=berlin))
    readers("bob@example.com", "Europe/Berlin", 7)
    [slot] = pipeline.send_slots(ctx, at)
    assert (slot.readers, slot.next) == (1, datetime(2026, 12, 1, 7, 0, tzinfo=berlin))
    assert pipeline.send_due(ctx, datetime(2026, 12, 1, 6, 0, tzinfo=UTC))[0][1].sent == 1  # bob only
    assert [m.recipients[0] for m in smtp_server.messages] == ["ada@example.com", "bob@example.com"]


@pytest.mark.slow
def test_run_mails_the_due_reader_and_stops_on_sigterm(tmp_path) -> None:
    now = datetime.now(UTC)
    later_tz = "Asia/Tokyo" if now.hour == 23 else "UTC"  # a zone where it is not 23:00 yet
    with CaptureServer() as sink:
        config = tmp_path / "newsletter.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path}/run.db"\n[smtp]\nhost = "127.0.0.1"\nport = {sink.port}\n'
            '[web]\nsecret_key = "test-secret-of-the-tests"\n[sources.hf]\nenabled = false\n',  # run's catch-up ingest
            encoding="utf-8",
        )
        cli = [sys.executable, "-m", "newsletter", "--config", str(config)]
        subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True)
        subprocess.run([*cli, "ingest", "--file", str(SAMPLE_FEED)], check=True, capture_output=True)
        subprocess.run(
            [*cli, "subscribers", "add", "now@example.com", "--topic", "sparse autoencoders", "--send-hour", "0"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *cli,
                "subscribers",
                "add",
                "later@example.com",
                "--topic",
                "sparse autoencoders",
                "--send-hour",
                "23",
                "--timezone",
                later_tz,
            ],
            check=True,
            capture_output=True,
        )
        proc = subprocess.Popen([*cli, "run"], stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while not sink.messages and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [m.recipients[0] for m in sink.messages] == ["now@example.com"]
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            assert time.monotonic() - started < 10
            assert proc.stderr is not None and "scheduler stopped" in proc.stderr.read()
        finally:
            proc.kill()
        assert [m.recipients[0] for m in sink.messages] == ["now@example.com"]


class Recorder:
    """Stands in for the scheduler to see which follow-up jobs the ingest asks for."""

    def __init__(self) -> None:
        self.jobs: list[dict] = []

    def add_job(self, func, trigger, **kw):  # type: ignore[no-untyped-def]
        self.jobs.append({"func": func, "trigger": trigger, **kw})


def test_ingest_is_retried_until_the_announcement_arrives(ctx, feed_server, monkeypatch) -> None:
    from newsletter import schedule
    from tests.conftest import Answer

    feed_server.route("/api/daily_papers", Answer(body=b"[]"))
    settings = ctx.settings.replace(
        sources={"hf": {"url": f"{feed_server.base}/api/daily_papers"}},
        schedule={"ingest_deadline": "23:59", "ingest_retry_minutes": 20},
    )
    recorder = Recorder()
    monkeypatch.setitem(schedule._running, "context", pipeline.Context(settings, ctx.db))
    monkeypatch.setitem(schedule._running, "scheduler", recorder)
    before = datetime.now(UTC)
    schedule.scheduled_ingest()
    if before.hour == 23 and before.minute >= 39:
        assert recorder.jobs == []  # past the deadline: no more tries today
    else:
        [job] = recorder.jobs
        assert job["trigger"] == "date" and 1190 <= (job["run_date"] - before).total_seconds() <= 1210
        assert "args" not in job  # the job store gets the function's name only, never the settings
    # Once it has arrived, nothing more is scheduled.
    feed_server.route("/api/daily_papers", Answer(body=SAMPLE_FEED.read_bytes()))
    recorder.jobs.clear()
    schedule.scheduled_ingest()
    assert recorder.jobs == []


def test_an_ingest_whose_database_fails_is_retried_too(ctx, feed_server, monkeypatch, tmp_path) -> None:
    from newsletter import schedule
    from newsletter.store.db import Database
    from tests.conftest import Answer

    feed_server.route("/api/daily_papers", Answer(body=SAMPLE_FEED.read_bytes()))
    settings = ctx.settings.replace(
        sources={"hf": {"url": f"{feed_server.base}/api/daily_papers"}},
        schedule={"ingest_deadline": "23:59", "ingest_retry_minutes": 20},
        database={"url": f"sqlite:///{tmp_path}/no/such/folder/gone.db"},  # cannot be opened
    )
    recorder = Recorder()
    broken = pipeline.Context(settings, Database(settings.database.url, settings.paths.migrations))
    monkeypatch.setitem(schedule._running, "context", broken)
    monkeypatch.setitem(schedule._running, "scheduler", recorder)
    before = datetime.now(UTC)
    schedule.scheduled_ingest()  # no exception escapes the job
    if not (before.hour == 23 and before.minute >= 39):
        [job] = recorder.jobs
        assert job["id"] == "ingest-retry" and 1190 <= (job["run_date"] - before).total_seconds() <= 1210


def test_jobs_are_stored_in_the_database(ctx) -> None:
    import sqlalchemy as sa

    from newsletter import schedule

    scheduler = schedule.build(ctx)
    scheduler.start(paused=True)
    try:
        with ctx.db.engine.connect() as conn:
            rows = dict(conn.execute(sa.text(f"SELECT id, job_state FROM {schedule.JOB_TABLE}")).all())
        assert set(rows) == {"ingest", "send"}
        # No secret at rest: a job is its function and trigger, never the Settings with their keys.
        for state in rows.values():
            assert ctx.settings.web.secret_key.encode() not in state and b"Settings" not in state
            assert pickle.loads(state)["args"] == ()
    finally:
        scheduler.shutdown(wait=False)


def test_a_send_pass_whose_smtp_server_is_down_logs_one_line_with_the_cause(ctx, readers, caplog, monkeypatch) -> None:
    from newsletter import schedule

    with CaptureServer() as gone:
        port = gone.port
    down = pipeline.Context(ctx.settings.replace(smtp={"port": port}), ctx.db)
    monkeypatch.setitem(schedule._running, "context", down)
    readers("utc@example.com", "UTC", 7)
    from newsletter.pipeline import send as send_module  # the pass's own name for due_now

    monkeypatch.setattr(send_module, "due_now", lambda *_: {date(2026, 3, 2): ctx.subscribers.list()})
    schedule.scheduled_send()  # no exception for APScheduler to print as a traceback
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert line.startswith("send: cannot connect to SMTP server 127.0.0.1") and "\n" not in line


def test_a_scheduler_started_after_the_ingest_time_ingests_at_once(ctx) -> None:
    """Started after today's ingest time with no fetch since (a deploy, a reboot), `run` ingests now: the
    stored job, replaced, said tomorrow (admin trial). A file imported by hand is not the day's fetch."""
    from newsletter.models import IngestResult

    tz = ZoneInfo(ctx.settings.schedule.timezone)
    hour, minute = (int(p) for p in ctx.settings.schedule.ingest_at.split(":"))
    due = datetime.now(tz).replace(hour=hour, minute=minute, second=0, microsecond=0)
    assert not pipeline.ingest_missed(ctx, due - timedelta(minutes=1))
    assert pipeline.ingest_missed(ctx, due + timedelta(minutes=1))
    ctx.ingest_runs.record(IngestResult("file:arxiv-metadata", "ok", 5), due + timedelta(minutes=2))
    assert pipeline.ingest_missed(ctx, due + timedelta(minutes=3))
    ctx.ingest_runs.record(IngestResult("hf", "ok", 5), due + timedelta(minutes=4))
    assert not pipeline.ingest_missed(ctx, due + timedelta(minutes=5))


def test_a_missed_ingest_is_caught_up_before_the_scheduler_starts(ctx, feed_server, monkeypatch) -> None:
    """`run` started after today's ingest time with no fetch since ingests first, then starts its jobs: the
    send pass it starts with (readers whose hour passed meanwhile) finds today's papers stored. At the same
    time as the pass, the ingest came too late for those readers (review)."""
    from newsletter import schedule
    from tests.conftest import Answer

    feed_server.route("/api/daily_papers", Answer(body=SAMPLE_FEED.read_bytes()))
    settings = ctx.settings.replace(
        sources={"hf": {"url": f"{feed_server.base}/api/daily_papers"}},
        schedule={"ingest_at": "00:00", "timezone": "UTC"},  # passed today, bar the minute after midnight
    )
    started = pipeline.Context(settings, ctx.db)
    monkeypatch.setitem(schedule._running, "context", started)
    monkeypatch.setitem(schedule._running, "scheduler", Recorder())
    assert pipeline.ingest_missed(started) or datetime.now(UTC).hour == 0
    schedule.catch_up_ingest(started)
    assert started.papers.count() > 0 and not pipeline.ingest_missed(started)
    calls = len(feed_server.routes["/api/daily_papers"].calls)
    schedule.catch_up_ingest(started)  # the day's fetch is done: a second start fetches nothing
    assert len(feed_server.routes["/api/daily_papers"].calls) == calls


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "signum", "code", "said"),
    [
        (["run"], signal.SIGTERM, 0, ""),  # the scheduler finishes cleanly
        (["send"], signal.SIGINT, 1, "interrupted after"),  # Ctrl-C: how far it got, and what to do
        # Ctrl-C in a terminal reaches every process of the group: the sending processes stop cleanly too.
        (["send", "--workers", "3"], signal.SIGINT, 1, "interrupted after"),
    ],
)
def test_a_stop_mid_send_exits_quickly_and_loses_nobody(tmp_path, command, signum, code, said) -> None:
    from collections import Counter

    from newsletter.capture import CaptureHandler

    readers = 400
    url = f"sqlite:///{tmp_path}/stop.db"
    ctx = pipeline.Context.open(base_settings(database={"url": url}))
    pipeline.ingest_file(ctx, SAMPLE_FEED, "hf")
    insert_readers(ctx, readers, ("sparse autoencoders",), send_hour=0, max_items=5)
    ctx.close()
    with CaptureServer(handler=CaptureHandler(data_delay=0.02)) as sink:
        config = tmp_path / "newsletter.toml"
        config.write_text(
            f'[database]\nurl = "{url}"\n[smtp]\nhost = "127.0.0.1"\nport = {sink.port}\nretry_wait = 0\n'
            '[web]\nsecret_key = "test-secret-of-the-tests"\n[sources.hf]\nenabled = false\n',  # run's catch-up ingest
            encoding="utf-8",
        )
        cli = [sys.executable, "-m", "newsletter", "--config", str(config)]
        proc = subprocess.Popen(
            [*cli, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 60
            while len(sink.messages) < 20 and time.monotonic() < deadline:
                time.sleep(0.02)
            started = time.monotonic()
            os.killpg(proc.pid, signum)  # as a terminal does: the command and every process it started
            _, stderr = proc.communicate(timeout=10)
            assert proc.returncode == code and said in stderr and "Traceback" not in stderr, stderr
            assert time.monotonic() - started < 10
        finally:
            proc.kill()
        stopped_at = len(sink.messages)
        assert stopped_at < readers, "SIGTERM came too late to test anything"
        done = subprocess.run([*cli, "send"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        received = Counter(m.recipients[0] for m in sink.messages)
        assert len(received) == readers and max(received.values()) == 1, "released, not lost nor repeated"
