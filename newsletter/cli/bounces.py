"""`newsletter bounces`: mail that comes back, from files or the IMAP inbox."""

from __future__ import annotations

from typing import Any

import click

from newsletter.cli.root import Group, State, json_option, main, pass_state, print_json


@main.group(cls=Group)
def bounces() -> None:
    """Mail that comes back: delivery reports, spam complaints (ARF) and mailto: unsubscribes."""


def _print_returns(summary: Any, as_json: bool) -> None:
    if as_json:
        print_json(summary.to_dict())
        return
    for problem in summary.problems:
        click.echo(problem, err=True)
    click.echo(summary.line())


@bounces.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@json_option
@pass_state
def bounces_import(state: State, paths: tuple[str, ...], as_json: bool) -> None:
    """Read .eml files, folders, maildirs and mbox files; act on reports that prove they answer our mail."""
    state.require_key()  # return paths and mailto: tokens are signed with it: a published key proves nothing
    from newsletter import pipeline

    def progress(summary: Any) -> None:
        click.echo(f"  {summary.messages} messages read…", err=True)

    _print_returns(pipeline.import_bounces(state.app, paths, on_progress=progress), as_json)


@bounces.command("poll")
@json_option
@pass_state
def bounces_poll(state: State, as_json: bool) -> None:
    """Read the [inbox] IMAP folder once (as the scheduler does); handled mail moves to the processed folder."""
    state.require_key()
    if not state.settings.inbox.host:
        raise click.ClickException("'inbox.host' is not set: no IMAP mailbox to read (see config.example.toml)")
    from newsletter import pipeline

    _print_returns(pipeline.poll_inbox(state.app), as_json)
