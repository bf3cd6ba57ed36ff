"""Crash safety and several workers, with real processes: kill -9 mid-send, a full outbox disk, the SMTP
server killed and the database taken away mid-send, each followed by a send that completes the issue; two
workers on PostgreSQL sharing 2,000 rows."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path

import pytest
import sqlalchemy as sa

from newsletter import pipeline
from newsletter.capture import CaptureHandler, CaptureServer, free_port
from newsletter.config import Settings
from tests.conftest import ROOT, base_settings
from tests.factories import ISSUE, insert_readers, make_paper
from tests.smtp_process import kept

pytestmark = pytest.mark.slow


def populate(settings, readers: int) -> None:
    """Readers who all match the day's paper, with their digests archived and ledger rows pending."""
    ctx = pipeline.Context.open(settings)
    ctx.papers.upsert([make_paper(title="Sparse circuits in transformer language models", abstract="circuits")])
    insert_readers(ctx, readers, max_items=5)
    options = pipeline.SendOptions(issue_date=ISSUE, show_progress=False)
    for plan in pipeline.prepare_issue(ctx, ctx.subscribers.due(ISSUE), options):
        assert plan.skip is None
    ctx.close()


def config_file(tmp_path, settings, port: int, **smtp) -> str:
    values = {"host": '"127.0.0.1"', "port": port, "retry_wait": 0, **smtp}
    path = tmp_path / "crash.toml"
    path.write_text(
        f'[database]\nurl = "{settings.database.url}"\n[web]\nsecret_key = "test-secret-of-the-tests"\n[smtp]\n'
        + "".join(f"{k} = {v}\n" for k, v in values.items()),
        encoding="utf-8",
    )
    return str(path)


def newsletter(config: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--config", config, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(count: Callable[[], int], at_least: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while count() < at_least and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)


def ends_alone_with_one_line(process: subprocess.Popen, *expected: str) -> None:
    """The faulty send ends by itself within seconds, exit status 1, one line on stderr naming the fault."""
    fault = time.monotonic()
    try:
        _out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("send hung after the fault") from None
    took = time.monotonic() - fault
    print(f"send ended {took:.1f} s after the fault: {err.strip()}")
    assert took < 20, f"send took {took:.1f} s to stop after the fault"
    assert process.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(e in err for e in expected), err


def everyone_once(received: list[tuple[str, str]], readers: int, max_repeats: int) -> int:
    """Every reader got the issue; repeats (what was in flight at a fault) are few and carry the same
    Message-ID, so the reader's client shows one message. Returns the number of repeats."""
    per_reader = Counter(recipient for recipient, _ in received)
    assert len(per_reader) == readers, "nobody is lost"
    repeats = sum(n - 1 for n in per_reader.values())
    assert repeats <= max_repeats, per_reader.most_common(5)
    ids: dict[str, set[str]] = {}
    for recipient, message_id in received:
        ids.setdefault(recipient, set()).add(message_id)
    assert all(len(v) == 1 for v in ids.values()), "a repeat carries the same Message-ID"
    return repeats


def captured(sink: CaptureServer) -> list[tuple[str, str]]:
    return [(m.recipients[0], str(m.message["Message-ID"])) for m in sink.messages]


def states(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT state, count(*) FROM deliveries GROUP BY state")).all())
    engine.dispose()
    return found


def sqlite_copy(tmp_path, sqlite_template) -> Settings:
    db = tmp_path / "crash.db"
    shutil.copy(sqlite_template, db)
    return base_settings(database={"url": f"sqlite:///{db}"})


def test_three_kill_9_repeat_only_what_was_in_flight(tmp_path, sqlite_template) -> None:
    settings = sqlite_copy(tmp_path, sqlite_template)
    readers, pool = 400, 4
    populate(settings, readers)
    with CaptureServer(handler=CaptureHandler(data_delay=0.01)) as sink:  # slow enough to kill mid-way
        config = config_file(tmp_path, settings, sink.port, pool_size=pool)
        for kill_at in (40, 150, 260):
            run = newsletter(config, "send", "--date", str(ISSUE))
            wait_for(lambda: len(sink.messages), kill_at, run)
            os.kill(run.pid, signal.SIGKILL)
            run.wait()
            assert len(sink.messages) < readers, "the kill came too late to test anything"
        last = newsletter(config, "send", "--date", str(ISSUE))
        _out, err = last.communicate(timeout=120)
        assert last.returncode == 0, err
        # Acknowledged outcomes survive in the journal: at most one message per connection per kill repeats
        # (committed in batches alone, a kill repeated up to a pool plus a batch).
        repeats = everyone_once(captured(sink), readers, max_repeats=3 * pool)
        print(f"{repeats} repeats over 3 kills")
    assert states(settings.database.url) == {"sent": readers}


def test_a_send_killed_and_not_yet_reaped_is_taken_over_at_once(tmp_path, sqlite_template) -> None:
    """A shell's killed background job stays a zombie until the shell reaps it; it still answers signal 0.
    The next send must know it is dead and send the rows it held now, not when its lease runs out."""
    settings = sqlite_copy(tmp_path, sqlite_template)
    readers = 200
    populate(settings, readers)
    with CaptureServer(handler=CaptureHandler(data_delay=0.01)) as sink:
        config = config_file(tmp_path, settings, sink.port, pool_size=4)
        run = newsletter(config, "send", "--date", str(ISSUE))
        wait_for(lambda: len(sink.messages), 40, run)
        os.kill(run.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{run.pid}/stat").read_text().split(") ")[1][0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        again = newsletter(config, "send", "--date", str(ISSUE))
        _out, err = again.communicate(timeout=120)
        run.wait()
        assert again.returncode == 0, err
        assert "took back" in err
        everyone_once(captured(sink), readers, max_repeats=4)
    assert states(settings.database.url) == {"sent": readers}


def test_a_send_with_another_state_folder_leaves_a_dead_senders_rows_to_its_journal(tmp_path, sqlite_template) -> None:
    """A send killed mid-way kept in its journal whom the server accepted. A send by hand with another
    paths.state (beside the service, whose units set it in the environment) cannot see that journal: it says
    so and leaves those rows alone instead of mailing them again. With the service's paths.state the journal
    is recorded and the rest is sent, everyone once."""
    settings = sqlite_copy(tmp_path, sqlite_template)
    readers = 200
    populate(settings, readers)
    service = {**os.environ, "NEWSLETTER_PATHS_STATE": str(tmp_path / "service")}
    by_hand = {**os.environ, "NEWSLETTER_PATHS_STATE": str(tmp_path / "by-hand")}
    with CaptureServer(handler=CaptureHandler(data_delay=0.01)) as sink:
        config = config_file(tmp_path, settings, sink.port, pool_size=4)
        run = newsletter(config, "send", "--date", str(ISSUE), env=service)
        wait_for(lambda: len(sink.messages), 40, run)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        assert len(sink.messages) < readers, "the kill came too late to test anything"
        other = newsletter(config, "send", "--date", str(ISSUE), env=by_hand)
        out, err = other.communicate(timeout=120)
        assert "its send journal is not in" in err and "took back" not in err, err
        assert re.search(r"skipped, [1-9]\d* held by another sender in", out), out
        everyone_once(captured(sink), len({r for r, _ in captured(sink)}), max_repeats=0)
        again = newsletter(config, "send", "--date", str(ISSUE), env=service)
        _out, err = again.communicate(timeout=120)
        assert again.returncode == 0 and "took back" in err, err
        everyone_once(captured(sink), readers, max_repeats=4)
    assert states(settings.database.url) == {"sent": readers}


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for PID 1, which may not reap it here)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_sending_processes_of_a_killed_send_finish_and_exit(tmp_path, sqlite_template) -> None:
    """`send --workers 3` killed with kill -9: its sending processes, left without the process that started
    them, end their campaigns cleanly and exit (they waited for work for ever), and a re-run sends the rest."""
    settings = sqlite_copy(tmp_path, sqlite_template)
    readers = 300
    populate(settings, readers)
    with CaptureServer(handler=CaptureHandler(data_delay=0.01)) as sink:
        config = config_file(tmp_path, settings, sink.port, pool_size=2, batch_size=10)
        run = newsletter(config, "send", "--date", str(ISSUE), "--workers", "3")
        wait_for(lambda: len(sink.messages), 60, run)
        helpers = children_of(run.pid)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        assert helpers and len(sink.messages) < readers, "the kill came too late to test anything"
        deadline = time.monotonic() + 30
        while any(running(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in helpers if running(pid)]
        assert not left, f"{len(left)} sending processes outlived the send"
        again = newsletter(config, "send", "--date", str(ISSUE))
        _out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        everyone_once(captured(sink), readers, max_repeats=3 * 2)
    assert states(settings.database.url) == {"sent": readers}


def test_outbox_on_a_full_disk_ends_the_send_and_loses_nothing(tmp_path, sqlite_template) -> None:
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=120k", "tmpfs", str(small)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 120 KB tmpfs for the outbox (needs root): {mounted.stderr.decode().strip()}")
    try:
        settings = sqlite_copy(tmp_path, sqlite_template)
        readers = 60
        populate(settings, readers)
        with CaptureServer(handler=CaptureHandler(data_delay=0.01)) as sink:
            config = config_file(tmp_path, settings, sink.port, pool_size=2)
            run = newsletter(config, "send", "--date", str(ISSUE), "--outbox", str(small))
            ends_alone_with_one_line(run, "No space left on device", str(small))
            accepted = len(sink.messages)
            assert 0 < accepted < readers
            # A copy is written before its message goes out, and only whole copies are left.
            copies = sorted(small.glob("*.eml"))
            assert len(copies) == accepted and not list(small.glob("*.part"))
            assert all(message_from_bytes(c.read_bytes())["Message-ID"] for c in copies)
            left = states(settings.database.url)
            assert left == {"sent": accepted, "pending": readers - accepted}, "claimed rows are given back"
            again = newsletter(config, "send", "--date", str(ISSUE))
            _out, err = again.communicate(timeout=60)
            assert again.returncode == 0, err
            everyone_once(captured(sink), readers, max_repeats=0)
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_smtp_server_killed_mid_send(tmp_path, sqlite_template) -> None:
    settings = sqlite_copy(tmp_path, sqlite_template)
    readers, pool = 60, 2
    populate(settings, readers)
    port, folder = free_port(), tmp_path / "mail"
    server = smtp_process(port, folder)
    try:
        # Deferred deliveries fall due at once, and the next send waits for them.
        config = config_file(tmp_path, settings, port, pool_size=pool, retry_base=0.01, retry_wait=30)
        run = newsletter(config, "send", "--date", str(ISSUE))
        wait_for(lambda: len(list(folder.glob("*.eml"))), readers // 3, run)
        server.kill()
        server.wait()
        ends_alone_with_one_line(run, "connection lost 3 times in a row")
        assert len(kept(folder)) < readers
        server = smtp_process(port, folder)
        again = newsletter(config, "send", "--date", str(ISSUE))
        _out, err = again.communicate(timeout=60)
        assert again.returncode == 0, err
        everyone_once([(k.recipient, k.message_id) for k in kept(folder)], readers, max_repeats=pool)
    finally:
        server.kill()
        server.wait()


def smtp_process(port: int, folder) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.smtp_process", str(port), str(folder), "0.03"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server


def test_database_lost_mid_send(tmp_path, pg_url) -> None:
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    readers, pool = 60, 2
    populate(base_settings(database={"url": pg_url}), readers)
    # The send logs in as a role of its own, so the database can be taken away from it alone (other
    # test runs share this server): its sessions are terminated and it may not log in again.
    role = f"nl_fault_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN SUPERUSER"))
    try:
        url = pg_url.replace("//postgres@", f"//{role}@")
        with CaptureServer(handler=CaptureHandler(data_delay=0.03)) as sink, admin.connect() as conn:
            config = config_file(tmp_path, base_settings(database={"url": url}), sink.port, pool_size=pool)
            run = newsletter(config, "send", "--date", str(ISSUE))
            wait_for(lambda: len(sink.messages), readers // 3, run)
            conn.execute(sa.text(f"ALTER ROLE {role} NOLOGIN"))
            conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"))
            ends_alone_with_one_line(run, "database")
            assert len(sink.messages) < readers
            conn.execute(sa.text(f"ALTER ROLE {role} LOGIN"))
            again = newsletter(config, "send", "--date", str(ISSUE))
            _out, err = again.communicate(timeout=60)
            assert again.returncode == 0, err
            # What the server acknowledged before the database went is in the journal, not sent again.
            everyone_once(captured(sink), readers, max_repeats=pool)
        assert states(pg_url) == {"sent": readers}
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


def test_two_workers_on_postgresql_send_each_row_once(tmp_path, pg_url) -> None:
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    settings = base_settings(database={"url": pg_url})
    readers = 2000
    populate(settings, readers)
    with CaptureServer() as sink:
        config = config_file(tmp_path, settings, sink.port, pool_size=4, batch_size=50)
        workers = [newsletter(config, "worker", "--once") for _ in range(2)]
        for w in workers:
            _out, err = w.communicate(timeout=300)
            assert w.returncode == 0, err
        received = Counter(m.recipients[0] for m in sink.messages)
        assert len(received) == readers and set(received.values()) == {1}
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        states = dict(conn.execute(sa.text("SELECT state, count(*) FROM deliveries GROUP BY state")).all())
    engine.dispose()
    assert states == {"sent": readers}
