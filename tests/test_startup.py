"""What a command loads before it works: structural checks (the timings are in benchmarks/startup.py)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.errors import StoreError
from newsletter.store.db import Database
from newsletter.store.heads import HEAD_CACHE

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "alembic", "premailer", "lxml", "cssutils", "numpy", "rich", "aiosmtplib", "jinja2")

LOADED = """
import sys
from newsletter.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    assert not exit.code, exit.code
print("\\n" + " ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def loaded(tmp_path: Path, *args: str, url: str = "") -> set[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "NEWSLETTER_DATABASE_URL": url or f"sqlite:///{tmp_path / 'n.db'}",
        "NEWSLETTER_PATHS_CACHE": str(tmp_path / "cache"),
    }
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.splitlines()[-1].split())


def test_help_loads_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "--help")
    assert "click" in modules
    assert not modules & set(HEAVY)


def test_command_modules_import_nothing_heavy_at_top_level() -> None:
    # --help imports every command module, so one top-level import of the pipeline or the store (which load
    # SQLAlchemy) would slow every command; this names the module and line that does it.
    lazy = {*HEAVY, "newsletter.pipeline", "newsletter.store", "newsletter.schedule", "newsletter.web", "uvicorn"}
    modules = sorted((ROOT / "newsletter" / "cli").glob("*.py"))
    assert {m.stem for m in modules} >= {"__init__", "root", "db", "ingest", "papers", "subscribers", "send"}
    found = []
    for module in modules:
        for node in ast.parse(module.read_text()).body:  # module level only: bodies and TYPE_CHECKING may import
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [
                f"{module.name}:{node.lineno} {name}"
                for name in names
                if any(name == heavy or name.startswith(heavy + ".") for heavy in lazy)
            ]
    assert found == []


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_subscribers_list_loads_the_store_only(db_url: str, tmp_path: Path, output: list[str]) -> None:
    loaded(tmp_path, "subscribers", "add", "ada@example.org", "--topic", "circuits", url=db_url)  # the schema
    modules = loaded(tmp_path, "subscribers", "list", *output, url=db_url)
    # The driver alone (store/direct.py): SQLAlchemy is most of a short command's start-up.
    assert "sqlite3" in modules if db_url.startswith("sqlite") else "psycopg" in modules
    assert not modules & {"sqlalchemy", "alembic", "premailer", "lxml", "cssutils", "numpy", "aiosmtplib", "jinja2"}


def test_schema_check_remembers_alembic_head_per_script_content(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    db = Database(f"sqlite:///{tmp_path / 'n.db'}", str(ROOT / "migrations"), str(cache))
    db.ensure_schema()  # empty: migrated to head, which Alembic read from the scripts
    remembered = json.loads((cache / HEAD_CACHE).read_text())
    head = remembered["head"]
    assert head and db.upgrade() == (head, head)
    # The remembered answer is what the next check uses, as long as the scripts have the same content ...
    (cache / HEAD_CACHE).write_text(json.dumps({**remembered, "head": "9999"}))
    with pytest.raises(StoreError, match=f"at revision {head}, not 9999: run `newsletter db upgrade`"):
        db.ensure_schema()
    # ... and for other scripts Alembic is asked again.
    (cache / HEAD_CACHE).write_text(json.dumps({"fingerprint": "other scripts", "head": "9999"}))
    db.ensure_schema()
    assert json.loads((cache / HEAD_CACHE).read_text()) == remembered
    db.dispose()


@pytest.mark.parametrize(
    "command",
    [
        ("subscribers", "add", "ada@example.org", "--topic", "qubits"),
        ("status",),
        ("subscribers", "list"),
        ("db", "upgrade"),
    ],
)
def test_a_command_closes_the_database_it_opened(tmp_path: Path, command: tuple[str, ...]) -> None:
    """The program's exit leaves the heap uncollected (cli.run): each command closes its connections itself,
    so SQLite folds its write-ahead log back into the database file (a copy of newsletter.db alone is whole)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "NEWSLETTER_WEB_SECRET_KEY": "k" * 32,
        "NEWSLETTER_PATHS_CACHE": str(tmp_path / "c"),
    }
    for args in (("db", "upgrade"), ("subscribers", "add", "first@example.org"), command):
        result = subprocess.run(
            [sys.executable, "-m", "newsletter", *args], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "newsletter.db").exists()
        assert not (tmp_path / "newsletter.db-wal").exists()


def test_a_command_refused_by_a_database_behind_closes_it_too(tmp_path: Path) -> None:
    """A database behind the code is refused in one line; the connection opened to find it out is closed."""
    import sqlite3

    env = {"PATH": "/usr/bin:/bin", "NEWSLETTER_WEB_SECRET_KEY": "k" * 32}
    run = [sys.executable, "-m", "newsletter"]
    assert subprocess.run([*run, "db", "upgrade"], env=env, cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "newsletter.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0011'")
    db.close()
    result = subprocess.run([*run, "status"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 1 and "is at revision 0011" in result.stderr, result.stderr
    assert not (tmp_path / "newsletter.db-wal").exists()


def test_ctrl_c_while_the_program_starts_ends_it_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C in the first tenths of a second lands while the commands are being imported: the program ends
    (130 or, earlier still, by the signal itself), never with a Python traceback."""
    import signal
    import time

    command = [sys.executable, "-m", "newsletter", "--help"]
    subprocess.run(command, cwd=tmp_path, capture_output=True, check=True)  # compiled: a clean clone compiles
    # From 0.06 s: earlier, the signal lands in Python's own start-up (runpy), before any code of ours.
    for delay in (0.06, 0.08, 0.1, 0.14, 0.2):
        started = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        started.send_signal(signal.SIGINT)
        _out, err = started.communicate(timeout=30)
        assert b"Traceback" not in err, (delay, err.decode()[-400:])
        assert started.returncode in (0, 1, 130, -signal.SIGINT), (delay, started.returncode)
