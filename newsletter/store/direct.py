"""The database through its DB-API driver alone, for reads that must start at once (`subscribers list`).

SQLAlchemy is most of such a command's start-up. A database is opened here only when its URL is a plain
SQLite file or PostgreSQL over psycopg and its schema is at the head the migrations name (as remembered by
heads.py); anything else (no file yet, no cache, a schema behind, another driver) is left to Database, which
creates, migrates, refuses and explains.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsletter.errors import StoreError
from newsletter.store import heads

if TYPE_CHECKING:
    from newsletter.config import Settings

CONNECT_TIMEOUT = 10  # seconds: a server that went away must fail a connection attempt, not hang it

# One query inside a reading transaction: SQL with `placeholder` for each parameter, rows by column name.
Query = Callable[[str, Sequence[Any]], list[Any]]


class Direct:
    """A DB-API connection with what Roster needs: its placeholder and read transactions."""

    def __init__(self, connection: Any, placeholder: str, display_url: str, errors: type[Exception]) -> None:
        self.connection = connection
        self.placeholder = placeholder
        self.display_url = display_url
        self.errors = errors

    @contextmanager
    def driver_reading(self) -> Iterator[Query]:
        """One read transaction, so a page of readers and their preferences are one snapshot."""
        cursor = self.connection.cursor()

        def query(sql: str, params: Sequence[Any]) -> list[Any]:
            cursor.execute(sql, tuple(params))
            row = namedtuple("row", [d[0] for d in cursor.description])  # type: ignore[misc]
            return [row(*values) for values in cursor.fetchall()]

        try:
            cursor.execute("BEGIN")
            try:
                yield query
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        except self.errors as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"database {self.display_url}: {reason}") from None
        finally:
            cursor.close()

    def revision(self) -> str | None:
        with self.driver_reading() as query:
            try:
                rows = query("SELECT version_num FROM alembic_version", ())
            except self.errors:
                return None
        return rows[0].version_num if len(rows) == 1 else None


def open_direct(settings: Settings) -> Direct | None:
    """The configured database through its driver, or None when Database must handle it."""
    known = heads.remembered(settings.paths.migrations, Path(settings.paths.cache) if settings.paths.cache else None)
    if known is None or known[1] is None:
        return None
    url = urlsplit(settings.database.url)
    direct = _sqlite(url) if url.scheme in ("sqlite", "sqlite+pysqlite") else None
    if url.scheme == "postgresql+psycopg":
        direct = _postgresql(url)
    if direct is None:
        return None
    try:
        current = direct.revision()
    except StoreError:
        current = None
    if current != known[1]:
        direct.connection.close()
        return None
    return direct


def _sqlite(url: Any) -> Direct | None:
    path = url.path[1:]
    if url.netloc or url.query or not path or path == ":memory:" or not Path(path).is_file():
        return None
    import sqlite3

    # isolation_level=None: the transactions are the explicit BEGIN/COMMIT of driver_reading.
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    return Direct(connection, "?", url.geturl(), sqlite3.Error)


def _postgresql(url: Any) -> Direct | None:
    try:
        import psycopg
    except ImportError:
        return None
    conninfo = url._replace(scheme="postgresql").geturl()
    display = hide_password(url.geturl())
    timeout: dict[str, Any] = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT}
    try:
        connection = psycopg.connect(conninfo, autocommit=True, **timeout)
    except psycopg.Error as exc:
        # The same line Database would print, without trying a second time against a server that is not there.
        raise StoreError(f"database {display}: {str(exc).strip().splitlines()[0]}") from None
    return Direct(connection, "%s", display, psycopg.Error)


def hide_password(url: str) -> str:
    """The URL as Database shows it: a password, if any, as ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{parts.netloc.rpartition('@')[2]}").geturl()
