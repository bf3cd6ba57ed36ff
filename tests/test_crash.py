"""Crash safety and several workers, with real processes: kill -9 mid-send, then send again; two workers on
PostgreSQL sharing 2,000 rows."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from newsletter import pipeline
from newsletter.capture import CaptureHandler, CaptureServer
from newsletter.deliver.campaign import FLUSH_EVERY
from tests.conftest import base_settings
from tests.factories import ISSUE, insert_readers, make_paper

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
    extra = "".join(f"{k} = {v}\n" for k, v in smtp.items())
    path = tmp_path / "crash.toml"
    path.write_text(
        f'[database]\nurl = "{settings.database.url}"\n[web]\nsecret_key = "test-secret"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nretry_wait = 0\n{extra}',
        encoding="utf-8",
    )
    return str(path)


def newsletter(config: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--config", config, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("kill_after", [5, 60, 150])
def test_kill_9_mid_send_then_send_again_loses_nobody(tmp_path, sqlite_template, kill_after) -> None:
    import shutil

    db = tmp_path / "crash.db"
    shutil.copy(sqlite_template, db)
    settings = base_settings(database={"url": f"sqlite:///{db}"})
    readers = 200
    populate(settings, readers)
    with CaptureServer(handler=CaptureHandler(data_delay=0.02)) as sink:  # slow enough to kill mid-way
        config = config_file(tmp_path, settings, sink.port, pool_size=4)
        first = newsletter(config, "send", "--date", str(ISSUE))
        deadline = time.monotonic() + 60
        while len(sink.messages) < kill_after and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        before = len(sink.messages)
        assert before < readers, "the kill came too late to test anything"
        second = newsletter(config, "send", "--date", str(ISSUE))
        _out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        received = Counter(m.recipients[0] for m in sink.messages)
        assert len(received) == readers, "nobody is lost"
        repeats = [r for r, n in received.items() if n > 1]
        assert all(n <= 2 for n in received.values())
        # The only repeats: messages accepted before the kill whose outcome was not committed yet.
        assert len(repeats) <= 4 + FLUSH_EVERY
        ids: dict[str, set[str]] = {}
        for m in sink.messages:
            ids.setdefault(m.recipients[0], set()).add(m.message["Message-ID"])
        assert all(len(v) == 1 for v in ids.values()), "a repeat carries the same Message-ID"


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
