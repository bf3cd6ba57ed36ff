"""The database handle: engine, short transactions, connection checks and Alembic migrations."""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, OperationalError

from newsletter.errors import ConfigError, Conflict, StoreError
from newsletter.store import heads
from newsletter.store.direct import CONNECT_TIMEOUT, Query, first_line, unwritable

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from sqlalchemy.orm import Session, sessionmaker

    from newsletter.config import Settings


class Database:
    """One engine per process; every store function takes one of its short transactions."""

    def __init__(self, url: str, migrations_dir: str, cache_dir: str | None = None) -> None:
        try:
            self.url = make_url(url)
        except (ArgumentError, ValueError):
            # Not shown: a malformed URL may still hold a password.
            raise StoreError(
                "'database.url' is not a database URL (expected e.g. sqlite:///newsletter.db or "
                "postgresql+psycopg://user:password@host/name; a port must be a number)"
            ) from None
        self.display_url = self.url.render_as_string(hide_password=True)
        self.migrations_dir = migrations_dir
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.engine = self._create_engine()

    @classmethod
    def open(cls, settings: Settings, migrate: bool = True, create: bool = True) -> Database:
        """The configured database; with `migrate`, its schema refused when behind, and made when it is empty
        if `create`."""
        db = cls(settings.database.url, settings.paths.migrations, settings.paths.cache or None)
        if migrate:
            try:
                db.ensure_schema(create)
            except BaseException:
                db.dispose()  # nobody else holds it to close it
                raise
        return db

    @property
    def identity(self) -> str:
        """What tells this database apart from any other of this machine (an SQLite file by its absolute
        path); it holds the password, so it is for digests, never for display."""
        if self.is_sqlite and self.url.database and self.url.database != ":memory:":
            return f"sqlite:{Path(self.url.database).resolve()}"
        return self.url.render_as_string(hide_password=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def _create_engine(self) -> Engine:
        # JSON as written ("Zoë", not an escape per letter): the full-text indexes read author names from that text.
        # One encoder made once: json.dumps with an argument makes a new one per call, a seventh of an import.
        kwargs: dict[str, Any] = {"future": True, "json_serializer": json.JSONEncoder(ensure_ascii=False).encode}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            if (new := new_sqlite_file(self.url)) is not None and new.parent.is_dir():
                # Readers' addresses and consent records: the owner's alone (SQLite's -wal and -shm follow).
                with contextlib.suppress(OSError):  # SQLite then says what is wrong with the place
                    os.close(os.open(new, os.O_CREAT | os.O_WRONLY, 0o600))
        else:
            kwargs["pool_pre_ping"] = True
            if self.is_postgresql and "connect_timeout" not in self.url.query:
                # A server that went away must fail a connection attempt, not hang it.
                kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        try:
            engine = create_engine(self.url, **kwargs)
        except (NoSuchModuleError, ModuleNotFoundError):
            hint = " (pip install 'newsletter[postgresql]')" if self.is_postgresql else ""
            raise StoreError(f"no driver for database {self.display_url}{hint}") from None
        if self.is_sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    @functools.cached_property
    def _sessions(self) -> sessionmaker[Session]:
        # The ORM loads with the first session: a command that reads only driver rows never pays for it.
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine, expire_on_commit=False)

    @property
    def placeholder(self) -> str:
        """How the driver's SQL names a parameter (store/roster.py writes SQL for either driver)."""
        return "?" if self.engine.dialect.paramstyle == "qmark" else "%s"

    @contextmanager
    def driver_reading(self) -> Iterator[Query]:
        """One read transaction whose queries go to the driver as written (store/direct.py has the same)."""
        try:
            with self.engine.begin() as conn:

                def query(sql: str, params: Sequence[Any]) -> list[Any]:
                    return list(conn.exec_driver_sql(sql, tuple(params)).all())

                yield query
        except DBAPIError as exc:  # a lost connection
            raise self._connect_error(exc) from None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except IntegrityError as exc:  # a unique key another writer took first
                session.rollback()
                raise self._connect_error(exc, Conflict) from None
            except DBAPIError as exc:  # a lost connection, or a value the database refused
                session.rollback()
                raise self._connect_error(exc) from None
            except BaseException:
                session.rollback()
                raise

    def _connect_error(self, exc: DBAPIError, kind: type[StoreError] = StoreError) -> StoreError:
        reason = first_line(exc.orig) if exc.orig else str(exc)
        hint = unwritable(self.url.database) if self.is_sqlite else ""
        return kind(f"database {self.display_url}: {reason}{hint}")

    def _alembic(self) -> AlembicConfig:
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", self._scripts())
        return cfg

    def _scripts(self) -> str:
        """The migrations folder, or ConfigError when it holds no Alembic scripts (a wrong paths.migrations)."""
        if not (Path(self.migrations_dir) / "env.py").is_file():
            raise ConfigError(f"'paths.migrations': {self.migrations_dir} holds no migrations (no env.py there)")
        return self.migrations_dir

    def _revisions(self) -> tuple[str | None, str | None, bool]:
        """(current revision, head revision, whether any table exists)."""
        try:
            with self.engine.connect() as conn:
                tables = inspect(conn).get_table_names()
                current = None
                if "alembic_version" in tables:
                    # Alembic's own table, read without loading Alembic (one row: the chain is linear).
                    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as exc:
            raise self._connect_error(exc) from None
        return current, self._head(), bool(tables)

    def _head(self) -> str | None:
        """The newest revision of the migration scripts, as Alembic reads it; kept in the cache folder for
        scripts of the same content."""
        scripts = heads.fingerprint(self._scripts())
        known = heads.remembered(self.cache_dir, scripts)
        if known is not None:
            return known
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self._alembic()).get_current_head()
        heads.remember(self.cache_dir, scripts, head)
        return head

    def upgrade(self) -> tuple[str | None, str | None]:
        """Run the migrations up to head; returns (revision before, revision after)."""
        before, head, _ = self._revisions()
        if before != head:
            from alembic import command

            cfg = self._alembic()
            try:
                with self.engine.connect() as conn:
                    if self.is_sqlite:
                        # A batch migration rebuilds a table by dropping the old one, and with foreign keys
                        # on SQLite's DROP TABLE would cascade into every child row. The pragma only takes
                        # effect outside a transaction, hence before it; checked again before the commit.
                        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                        conn.commit()
                    try:
                        with conn.begin():
                            cfg.attributes["connection"] = conn
                            command.upgrade(cfg, "head")
                            if self.is_sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                                raise StoreError(f"database {self.display_url}: a migration broke a foreign key")
                    finally:
                        if self.is_sqlite:
                            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            except OperationalError as exc:
                raise self._connect_error(exc) from None
        return before, head

    def ensure_schema(self, create: bool = True) -> None:
        """Create the schema in an empty database (zero set-up; with `create` False, refuse to); refuse one
        that is behind."""
        current, head, has_tables = self._revisions()
        if current == head:
            return
        if current is None and not has_tables:
            if not create:
                raise StoreError(
                    f"database {self.display_url} is empty: run `newsletter db upgrade` to make its schema"
                )
            self.upgrade()
            return
        raise StoreError(
            f"database {self.display_url} is at revision {current or 'none'}, not {head}: run `newsletter db upgrade`"
        )

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def new_sqlite_file(url: str | URL) -> Path | None:
    """The SQLite file a database URL would create on first use (None: it exists, or the URL names no file)."""
    try:
        url = make_url(url)
    except (ArgumentError, ValueError):
        return None  # Database says what is wrong with it, without its password
    name = url.database if url.get_backend_name() == "sqlite" else None
    if not name or name == ":memory:" or name.startswith("file:") or Path(name).exists():
        return None
    return Path(name)
