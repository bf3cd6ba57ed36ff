"""`newsletter db`: the database schema."""

from __future__ import annotations

import click

from newsletter.cli.root import Group, State, main, pass_state


@main.group(cls=Group)
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Create or migrate the database schema to the latest revision."""
    from newsletter.store import Database

    database = Database.open(state.settings, migrate=False)
    try:
        before, after = database.upgrade()
    finally:
        database.dispose()  # the exit does not collect it (cli.run): closed, SQLite folds its log into the file
    if before == after:
        click.echo(f"database {database.display_url} is up to date (revision {after})")
    else:
        click.echo(f"database {database.display_url} upgraded from {before or 'empty'} to {after}")
