"""The `newsletter` command: thin click commands, each calling one pipeline or store function.

root.py holds the `main` group, its global options and what the commands share (State, the option
decorators, output); each other module holds one command group and registers it on `main` when imported.
Each command imports what it needs when it runs (the pipeline, the store, rich, ...): `--help` and the
short commands do not pay for SQLAlchemy, Alembic, premailer or numpy. Keep new imports in the bodies.
"""

import atexit
import gc

# Importing a command module registers its commands on `main`.
from newsletter.cli import bounces, db, ingest, papers, preview, send, serve, subscribers  # noqa: F401
from newsletter.cli.root import main

__all__ = ["main", "run"]


def run() -> None:
    """The `newsletter` program: `main`, and an exit that does not collect the heap it leaves behind.

    Python's exit ends with a garbage collection of every object still alive (SQLAlchemy's, numpy's, the
    templates'): 0.15-0.25 s of every command that opens the store, for memory the process is giving back
    anyway. Frozen objects are left out of it; files, logs and the database are closed before (at-exit
    handlers and the commands themselves)."""
    atexit.register(gc.freeze)
    main()
