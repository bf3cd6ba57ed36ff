"""Real parts for the tests: SQLite files, a PostgreSQL schema, aiosmtpd, an HTTP server on 127.0.0.1, Chromium."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from newsletter import pipeline
from newsletter.capture import CaptureServer, free_port
from newsletter.config import Settings, load_settings
from newsletter.store.db import Database
from newsletter.store.tables import Base

ROOT = Path(__file__).resolve().parent.parent
# The newest migration, read from the migrations themselves: a new revision needs no edit of the tests.
MIGRATIONS_HEAD = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
DATA = Path(__file__).resolve().parent / "data"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def base_settings(**sections: dict) -> Settings:
    """Defaults, with no config file and no environment, plus the given overrides."""
    settings = load_settings(path=None, env={})
    settings = settings.replace(
        web={"secret_key": "test-secret-of-the-tests", "base_url": "https://papers.example.org"},
        # Not the user's ~/.cache and ~/.local/state (send journals are kept per database).
        paths={"cache": str(ROOT / ".pytest_cache" / "newsletter"), "state": str(ROOT / ".pytest_cache" / "state")},
    )
    return settings.replace(**sections)


@pytest.fixture(scope="session", autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands the tests start (CliRunner, subprocesses) keep their send journals out of ~/.local/state."""
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if before is None:
        del os.environ["XDG_STATE_HOME"]
    else:
        os.environ["XDG_STATE_HOME"] = before


# -- databases -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}", str(ROOT / "migrations"))
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A schema of its own in the `test` database for this run, migrated once, dropped at the end."""
    engine = sa.create_engine(PG_ADMIN_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL at 127.0.0.1:5432 does not answer: {str(exc.orig).strip().splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    db = Database(url, str(ROOT / "migrations"))
    db.upgrade()
    db.dispose()
    yield url
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _truncate_pg(url: str) -> None:
    engine = sa.create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs twice: on a fresh SQLite file and on a clean PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    _truncate_pg(url)
    return url


# -- SMTP ----------------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


@pytest.fixture
def settings(db_url: str, smtp_server: CaptureServer) -> Settings:
    # Retries fall due at once but a run does not wait for them: each test says when the next run happens.
    return base_settings(
        database={"url": db_url},
        smtp={"host": "127.0.0.1", "port": smtp_server.port, "retry_base": 0.001, "retry_wait": 0},
    )


@pytest.fixture
def ctx(settings: Settings) -> Iterator[pipeline.Context]:
    context = pipeline.Context.open(settings)
    yield context
    context.close()


# -- HTTP ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One scripted HTTP answer. `etag`: answer 304 when the request's If-None-Match matches it.
    `delay`: seconds to wait before answering. `cut`: announce the full length but send half, then close.
    `trickle`: send the body one byte at a time, this many seconds apart."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    delay: float = 0.0
    cut: bool = False
    trickle: float = 0.0


@dataclass(frozen=True)
class Call:
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


@dataclass
class Route:
    """Answers for one path, played in order, the last one repeating; and the requests it saw."""

    answers: list[Answer]
    calls: list[Call] = field(default_factory=list)


class FeedServer:
    """An HTTP server on 127.0.0.1 serving recorded-shape feeds; `route()` scripts what a path answers."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                route = routes.get(parts.path)
                if route is None:
                    self.send_error(404)
                    return
                route.calls.append(Call(parse_qs(parts.query), dict(self.headers), time.monotonic()))
                answer = route.answers[min(len(route.calls), len(route.answers)) - 1]
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.etag and self.headers.get("If-None-Match") == answer.etag:
                    self.send_response(304)
                    self.send_header("ETag", answer.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if answer.etag:
                    self.send_header("ETag", answer.etag)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.cut:
                    self.wfile.write(answer.body[: len(answer.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if answer.trickle:
                    self.close_connection = True
                    try:
                        for byte in answer.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer.trickle)
                    except OSError:
                        pass  # the client gave up: what the test wants
                    return
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, path: str, *answers: Answer) -> Route:
        self.routes[path] = Route(list(answers))
        return self.routes[path]


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def data_file() -> Callable[[str], Path]:
    return lambda name: DATA / name


# -- browser -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no browser download: the Makefile installs chromium).

    Module-scoped: Playwright's sync API holds an asyncio loop on this thread while it runs, and the
    delivery tests need the thread to themselves."""
    from playwright.sync_api import sync_playwright

    from newsletter.screenshot import browser as find_browser

    executable = find_browser()
    if executable is None:
        pytest.skip("no chromium on this machine (`make install` installs it as root)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


class LiveServer:
    """`create_app` under a real uvicorn on 127.0.0.1, in a thread, for the browser to reach."""

    def __init__(self, ctx: pipeline.Context) -> None:
        import uvicorn

        from newsletter.web import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ctx = pipeline.Context(ctx.settings.replace(web={"base_url": self.url}), ctx.db)
        config = uvicorn.Config(
            create_app(self.ctx), host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the web app did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(ctx: pipeline.Context) -> Iterator[LiveServer]:
    with LiveServer(ctx) as server:
        yield server
