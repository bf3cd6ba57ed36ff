"""The scheduler: next run times, and `newsletter run` as a real process stopped by SIGTERM."""

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from newsletter.schedule import DAILY_JOB, next_runs
from tests.conftest import base_settings


def test_next_run_is_the_configured_local_time() -> None:
    settings = base_settings(schedule={"ingest_at": "01:30", "timezone": "Asia/Tokyo"})
    [(name, when)] = next_runs(settings, now=datetime(2026, 11, 24, 12, 0, tzinfo=UTC))  # 21:00 in Tokyo
    assert name == DAILY_JOB
    assert when.isoformat() == "2026-11-25T01:30:00+09:00"


@pytest.mark.slow
def test_run_starts_and_stops_cleanly_on_sigterm(tmp_path) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/run.db"\n', encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--config", str(config), "run"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    try:
        first = proc.stderr.readline()
        assert "scheduler started" in first, first
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
        assert "scheduler stopped" in proc.stderr.read()
    finally:
        proc.kill()
