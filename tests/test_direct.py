"""store/direct.py: readers listed through the driver alone are the readers Database lists, or it steps aside."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsletter.capture import free_port
from newsletter.config import Settings
from newsletter.errors import StoreError
from newsletter.models import Consent, Frequency, Preferences, Status
from newsletter.store import Database, Roster, SubscriberStore
from newsletter.store.direct import hide_password, open_direct
from newsletter.store.heads import HEAD_CACHE
from tests.conftest import base_settings
from tests.factories import make_subscriber


def settings_for(url: str, tmp_path: Path) -> Settings:
    return base_settings(database={"url": url}, paths={"cache": str(tmp_path / "cache")})


def test_driver_rows_give_the_same_readers_as_database(db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, tmp_path)
    db = Database.open(settings)  # remembers the migrations' head in the cache folder
    store = SubscriberStore(db)
    signed_up = Consent(datetime(2026, 11, 2, 9, 30, 1, 250000, tzinfo=UTC), "192.0.2.7", "Firefox", "v2")
    store.add(
        make_subscriber(
            email="weekly@example.org",
            frequency=Frequency.WEEKLY,
            weekday=2,
            min_score=0.35,
            trending_items=3,
            timezone="Europe/Berlin",
            consent=signed_up,
            consent_source="web",
            preferences=Preferences(topics=("graph neural networks", "kernels"), categories=("cs.LG",)),
        )
    )
    store.add(make_subscriber(email="daily@example.org", topics=("spin glasses",), authors=("Ada Lovelace",)))
    store.add(make_subscriber(email="gone@example.org"))
    store.set_status("gone@example.org", Status.UNSUBSCRIBED)
    store.add_feedback("daily@example.org", "2611.00001", liked=True)

    direct = open_direct(settings)
    assert direct is not None
    fast, full = Roster(direct), Roster(db)
    listed = fast.list()
    assert [s.email for s in listed] == ["weekly@example.org", "daily@example.org", "gone@example.org"]
    assert listed == full.list() == store.list()
    weekly = listed[0]
    assert weekly.consent == signed_up and weekly.created_at and weekly.created_at.tzinfo == UTC
    assert weekly.preferences.topics == ("graph neural networks", "kernels") and weekly.weekday == 2
    assert listed[2].unsubscribed_at is not None and listed[2].unsubscribed_at.tzinfo == UTC
    assert fast.list(Status.UNSUBSCRIBED) == full.list(Status.UNSUBSCRIBED) == [listed[2]]
    wednesday, thursday = date(2026, 12, 2), date(2026, 12, 3)
    assert [[s.email for s in batch] for batch in fast.due(wednesday, batch_size=1)] == [
        ["weekly@example.org"],
        ["daily@example.org"],
    ]
    assert list(fast.due(thursday)) == list(full.due(thursday)) == [[listed[1]]]
    direct.connection.close()
    db.dispose()


def test_steps_aside_whenever_database_must_decide(tmp_path: Path) -> None:
    missing = settings_for(f"sqlite:///{tmp_path / 'not-yet.db'}", tmp_path)
    assert open_direct(missing) is None  # Database creates and migrates it
    path = tmp_path / "n.db"
    settings = settings_for(f"sqlite:///{path}", tmp_path)
    Database.open(settings).dispose()
    assert open_direct(settings) is not None
    for url in (f"sqlite:///{path}?mode=ro", "sqlite://", "mysql://u@127.0.0.1/n", "postgresql://u@127.0.0.1/n"):
        assert open_direct(settings.replace(database={"url": url})) is None, url
    assert open_direct(settings.replace(paths={"cache": ""})) is None  # no remembered head to compare
    cache = tmp_path / "cache" / HEAD_CACHE
    cache.write_text(cache.read_text().replace('"head": "', '"head": "newer-'))
    assert open_direct(settings) is None  # scripts newer than the schema: Database says to upgrade
    with pytest.raises(StoreError, match=r"is at revision \w+, not newer-\w+: run `newsletter db upgrade`"):
        Database.open(settings)


def test_a_server_that_is_not_there_is_one_line_at_once(tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(f"postgresql+psycopg://app:s3cret@127.0.0.1:{port}/n", tmp_path)
    Path(settings.paths.cache).mkdir()
    sqlite_settings = settings_for(f"sqlite:///{tmp_path / 'n.db'}", tmp_path)
    Database.open(sqlite_settings).dispose()  # a remembered head, so the driver is tried
    started = time.monotonic()
    with pytest.raises(StoreError) as raised:
        open_direct(settings)
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert message.startswith(f"database postgresql+psycopg://app:***@127.0.0.1:{port}/n: ")
    assert "s3cret" not in message and "\n" not in message


def test_shown_urls_hide_the_password_as_database_does() -> None:
    for url in ("postgresql+psycopg://app:p%40ss@db.example:5433/n?sslmode=require", "postgresql+psycopg://app@h/n"):
        assert hide_password(url) == Database(url, "migrations").display_url
