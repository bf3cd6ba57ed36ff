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
from newsletter.store import Database, Roster, SubscriberStore, heads
from newsletter.store.direct import open_direct, parse_url
from newsletter.store.heads import HEAD_CACHE
from tests.conftest import MIGRATIONS_HEAD, base_settings
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


WRITTEN = (
    "postgresql+psycopg://app:p%40ss@db.example:5433/n?sslmode=require",
    "postgresql+psycopg://app@h/n",
    "postgresql+psycopg://app:pa#ss@h:5/n",  # SQLAlchemy takes '#', '/' and a bad escape in a password as is
    "postgresql+psycopg://app:pa/ss@h:5/n",
    "postgresql+psycopg://app:p%zz@h:5/n",
    "postgresql+psycopg://us%3Aer:pw@[::1]:5432/db",
    "postgresql+psycopg:///test?host=/var/run/postgresql",
    "sqlite:///x#y.db",
    "sqlite:///a%20b.db",
    "sqlite:////abs/p.db",
)


@pytest.mark.parametrize("url", WRITTEN)
def test_urls_read_and_shown_as_database_reads_and_shows_them(url: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a relative SQLite file is made where the test runs, not in the checkout
    parsed, database = parse_url(url), Database(url, "migrations")
    assert parsed is not None
    assert parsed.shown() == database.display_url and "pa" + "#ss" not in parsed.shown()
    given = database.url
    assert (parsed.user, parsed.password, parsed.host, parsed.port) == (
        given.username,
        given.password,
        given.host,
        given.port,
    )
    assert (parsed.database, parsed.query) == (given.database, dict(given.query))


def test_a_password_with_a_hash_lists_through_the_driver(pg_url: str, tmp_path: Path) -> None:
    """libpq's URI grammar is not SQLAlchemy's: the driver gets keywords, so what Database reaches it does
    (the server trusts this machine, so any password is accepted; how it is read is what is tested)."""
    url = pg_url.replace("postgres@", "postgres:pa#s/s@")
    settings = settings_for(url, tmp_path)
    heads.remember(Path(settings.paths.cache), heads.fingerprint(settings.paths.migrations), MIGRATIONS_HEAD)
    direct = open_direct(settings)
    assert direct is not None and direct.display_url.startswith("postgresql+psycopg://postgres:***@")
    db = Database(url, settings.paths.migrations)
    assert Roster(direct).list() == Roster(db).list()
    direct.connection.close()
    db.dispose()
