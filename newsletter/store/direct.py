"""The database through its DB-API driver alone, for reads that must start at once (`subscribers list`).

SQLAlchemy is most of such a command's start-up. A database is opened here only when its URL is a plain
SQLite file or PostgreSQL over psycopg and its schema is at the head the migrations name (as remembered by
heads.py); anything else (no file yet, no cache, a schema behind, another driver) is left to Database, which
creates, migrates, refuses and explains.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from newsletter.errors import StoreError
from newsletter.store import heads

if TYPE_CHECKING:
    from newsletter.config import Settings

CONNECT_TIMEOUT = 10  # seconds: a server that went away must fail a connection attempt, not hang it

# One query inside a reading transaction: SQL with `placeholder` for each parameter, rows by column name.
Query = Callable[[str, Sequence[Any]], list[Any]]


class Direct:
    """A DB-API connection with what Roster needs: its placeholder and read transactions."""

    def __init__(
        self, connection: Any, placeholder: str, display_url: str, errors: type[Exception], file: str | None = None
    ) -> None:
        self.connection = connection
        self.placeholder = placeholder
        self.display_url = display_url
        self.errors = errors
        self.file = file  # SQLite's

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
            raise StoreError(f"database {self.display_url}: {first_line(exc)}{unwritable(self.file)}") from None
        finally:
            cursor.close()

    def dispose(self) -> None:
        self.connection.close()

    def revision(self) -> str | None:
        with self.driver_reading() as query:
            try:
                rows = query("SELECT version_num FROM alembic_version", ())
            except self.errors:
                return None
        return rows[0].version_num if len(rows) == 1 else None


def open_direct(settings: Settings) -> Direct | None:
    """The configured database through its driver, or None when Database must handle it."""
    cache = Path(settings.paths.cache) if settings.paths.cache else None
    head = heads.remembered(cache, heads.fingerprint(settings.paths.migrations)) if cache else None
    url = parse_url(settings.database.url)
    if head is None or url is None:
        return None
    direct = _sqlite(url) if url.scheme in ("sqlite", "sqlite+pysqlite") else None
    if url.scheme == "postgresql+psycopg":
        direct = _postgresql(url)
    if direct is None:
        return None
    try:
        current = direct.revision()
    except StoreError:
        current = None
    if current != head:
        direct.dispose()
        return None
    return direct


@dataclass(frozen=True)
class DatabaseURL:
    """A database URL read as SQLAlchemy reads it (its grammar: a password may hold '#', '/' or '?')."""

    scheme: str
    user: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None
    query: dict[str, str]

    def shown(self) -> str:
        """As Database shows it: the password, if any, as ***."""
        login = ""
        if self.user is not None:
            login = quote(self.user, safe=" +") + (":***" if self.password is not None else "") + "@"
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        where = host + (f":{self.port}" if self.port is not None else "")
        path = "/" + quote(self.database, safe=" +/") if self.database is not None else ""
        query = "?" + urlencode(self.query) if self.query else ""
        return f"{self.scheme}://{login}{where}{path}{query}"


_URL = re.compile(
    r"""(?P<scheme>[\w+]+)://
        (?:(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?
        (?:(?:\[(?P<ipv6>[^/?]+)\]|(?P<ipv4>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
        (?:/(?P<database>[^?]*))?
        (?:\?(?P<query>.*))?""",
    re.X,
)


def parse_url(url: str) -> DatabaseURL | None:
    """The URL's parts, decoded; None for one this module leaves to Database (unreadable, an odd port, a
    query naming a key twice)."""
    found = _URL.match(url)
    if found is None or (found["port"] and not found["port"].isdigit()):
        return None
    pairs = parse_qsl(found["query"] or "")
    if len({k for k, _ in pairs}) != len(pairs):
        return None
    parts = {k: unquote(found[k]) if found[k] is not None else None for k in ("user", "password", "database")}
    return DatabaseURL(
        found["scheme"],
        parts["user"],
        parts["password"],
        found["ipv4"] or found["ipv6"],
        int(found["port"]) if found["port"] else None,
        parts["database"],
        dict(pairs),
    )


def _sqlite(url: DatabaseURL) -> Direct | None:
    path = url.database
    if url.host or url.query or not path or path == ":memory:" or not Path(path).is_file():
        return None
    import sqlite3

    # isolation_level=None: the transactions are the explicit BEGIN/COMMIT of driver_reading.
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    return Direct(connection, "?", url.shown(), sqlite3.Error, path)


def _postgresql(url: DatabaseURL) -> Direct | None:
    try:
        import psycopg
    except ImportError:
        return None
    # Keywords, not a URI: libpq's URI grammar is not SQLAlchemy's (a password with '#' or '%zz').
    given = {"host": url.host, "port": url.port, "user": url.user, "password": url.password, "dbname": url.database}
    keywords: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    keywords.setdefault("connect_timeout", CONNECT_TIMEOUT)
    keywords.update(url.query)
    try:
        connection = psycopg.connect(autocommit=True, **keywords)
    except psycopg.OperationalError as exc:
        # The same line Database would print, without trying a second time against a server that is not there.
        raise StoreError(f"database {url.shown()}: {first_line(exc)}") from None
    except psycopg.Error:
        return None  # a URL libpq takes otherwise than SQLAlchemy: Database connects and explains
    return Direct(connection, "%s", url.shown(), psycopg.Error)


def unwritable(file: str | None) -> str:
    """Why SQLite cannot open this database file, when the file system says no ("" otherwise): it writes its
    journal beside the file, so a read-only folder stops even a read, with only "unable to open"."""
    if not file or file == ":memory:" or file.startswith("file:"):
        return ""
    folder = Path(file).resolve().parent
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return f" (SQLite writes its journal beside the file, and the folder {folder} is read-only to this user)"
    if Path(file).exists() and not os.access(file, os.W_OK):
        return f" (the file {file} is read-only to this user)"
    return ""


def first_line(exc: BaseException) -> str:
    """A driver's error in one line (its first: the rest is hints and the statement, which may hold values)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
