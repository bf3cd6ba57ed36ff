"""`newsletter subscribers`: add, change, list, pause, forget, import and export readers, record feedback."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from newsletter.cli.root import (
    F,
    Group,
    State,
    console,
    counted,
    json_option,
    main,
    normalized,
    pass_state,
    print_json,
    reads_only,
)
from newsletter.errors import InputError
from newsletter.models import Status
from newsletter.readers.fields import FIELDS, Choice, read_all

if TYPE_CHECKING:
    from newsletter.models import SubscriberChanges


@main.group(cls=Group)
def subscribers() -> None:
    """Manage subscribers (the CLI is the operator: added readers are active at once)."""


def subscriber_options(func: F) -> F:
    """One option per preference (readers/fields.py FIELDS); lists repeat and replace the whole list."""
    for field in reversed(FIELDS):
        kind = field.kind
        kind_type = click.Choice(kind.choices) if isinstance(kind, Choice) else kind.click_type
        func = click.option(field.flag, field.name, type=kind_type, multiple=kind.many, help=field.help)(func)
    return func


def changes_from(kw: dict[str, Any]) -> SubscriberChanges:
    from newsletter.models import SubscriberChanges

    return SubscriberChanges(**read_all(lambda field: kw[field.name] or None if field.kind.many else kw[field.name]))


def show_subscriber(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            value = [f"{k} {v}" for k, v in value.items() if v]
        shown = ", ".join(value) if isinstance(value, list) else ("" if value is None else value)
        click.echo(f"{key:>14}: {shown}")


@subscribers.command("add")
@click.argument("email")
@subscriber_options
@json_option
@pass_state
def subscribers_add(state: State, email: str, as_json: bool, **kw: Any) -> None:
    """Add an active subscriber."""
    from newsletter.readers import subscriptions

    changes = changes_from(kw)
    subscriptions.weekday_is_weekly(changes)
    added = subscriptions.add(state.settings, state.subscribers, email, changes)
    if as_json:
        print_json(added.to_dict())
    else:
        click.echo(f"added {added.email} ({counted(len(added.preferences.topics), 'topic')})")


@subscribers.command("update")
@click.argument("email")
@subscriber_options
@json_option
@pass_state
def subscribers_update(state: State, email: str, as_json: bool, **kw: Any) -> None:
    """Change a subscriber's settings; list options replace the whole list."""
    from newsletter.readers import subscriptions

    changes = changes_from(kw)
    if all(value is None for value in vars(changes).values()):
        raise click.UsageError("nothing to change: give the options to set")
    subscriptions.weekday_is_weekly(changes, state.subscribers.require(normalized(email)))
    updated = subscriptions.update(state.subscribers, email, changes)
    show_subscriber(updated.to_dict(), as_json)


@subscribers.command("list")
@click.option("--status", type=click.Choice([s.value for s in Status]), help="Only subscribers in this state.")
@json_option
@pass_state
@reads_only
def subscribers_list(state: State, status: str | None, as_json: bool) -> None:
    """List subscribers."""
    from rich.table import Table

    found = state.roster.list(Status(status) if status else None)
    if as_json:
        print_json([s.to_dict() for s in found])
        return
    table = Table(box=None)
    table.add_column("email", overflow="fold")  # folded when it must be, never cut short with '…'
    for header in ("status", "frequency", "hour", "timezone"):
        table.add_column(header, no_wrap=True)
    table.add_column("topics", overflow="fold")
    for s in found:
        table.add_row(
            s.email,
            str(s.status),
            str(s.frequency),
            str(s.send_hour),
            s.timezone,
            "; ".join(s.preferences.topics),
        )
    console().print(table)
    click.echo(counted(len(found), "subscriber"))


@subscribers.command("show")
@click.argument("email")
@json_option
@pass_state
@reads_only
def subscribers_show(state: State, email: str, as_json: bool) -> None:
    """Show one subscriber."""
    show_subscriber(state.subscribers.require(normalized(email)).to_dict(), as_json)


@subscribers.command("pause")
@click.argument("email")
@pass_state
def subscribers_pause(state: State, email: str) -> None:
    """Pause an active subscriber (`resume` mails them again)."""
    from newsletter.readers import subscriptions

    changed = subscriptions.pause(state.subscribers, normalized(email))
    click.echo(f"{changed.email} is now {changed.status}")


@subscribers.command("unsubscribe")
@click.argument("email")
@pass_state
def subscribers_unsubscribe(state: State, email: str) -> None:
    """Unsubscribe a subscriber."""
    changed = state.subscribers.set_status(normalized(email), Status.UNSUBSCRIBED)
    click.echo(f"{changed.email} is now {changed.status}")


@subscribers.command("resume")
@click.argument("email")
@click.option("--reader-asked", is_flag=True, help="The reader, who unsubscribed, asked to be mailed again.")
@pass_state
def subscribers_resume(state: State, email: str, reader_asked: bool) -> None:
    """Resume a paused or bounced subscriber (one who unsubscribed: only with --reader-asked)."""
    from newsletter.readers import subscriptions

    changed = subscriptions.resume(state.subscribers, normalized(email), reader_asked)
    click.echo(f"{changed.email} is now {changed.status}")


@subscribers.command("forget")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def subscribers_forget(state: State, email: str, yes: bool) -> None:
    """Erase a subscriber and their history; the address is never mailed again."""
    address = normalized(email)
    state.subscribers.require(address)
    if not yes:
        if not sys.stdin.isatty():  # nobody to ask: an answer piped in is not a person's
            raise InputError(f"forgetting {address} erases them for good: pass --yes to confirm")
        click.confirm(f"Erase {address} and everything kept about them?", abort=True)
    state.subscribers.forget(address)
    click.echo(f"forgot {address}")


def _feedback_command(name: str, liked: bool) -> None:
    @subscribers.command(name, help=f"Record that the subscriber {name}s a paper (shapes later picks).")
    @click.argument("email")
    @click.argument("paper_id")
    @pass_state
    def command(state: State, email: str, paper_id: str) -> None:
        from newsletter.sources.ids import split_arxiv_id

        bare, _ = split_arxiv_id(paper_id)
        address = normalized(email)
        state.subscribers.add_feedback(address, bare, liked)
        if state.papers.get(bare) is None:  # kept (a paper of another instance, or one still to come); a typo is seen
            click.echo(f"note: no paper {bare} is stored here: it counts once one is", err=True)
        click.echo(f"{address} {name}s {bare}")


_feedback_command("like", True)
_feedback_command("dislike", False)


SUPPRESSIONS_HELP = (
    "The suppression list instead: hashed addresses never mailed again (bounced, complained, forgotten). "
    "Move it with the subscribers, before them."
)


@subscribers.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--suppressions", is_flag=True, help=SUPPRESSIONS_HELP + " An import may list plain addresses (email).")
@pass_state
def subscribers_import(state: State, path: str, suppressions: bool) -> None:
    """Add or update subscribers from a CSV (header row) or JSON file."""
    if suppressions:
        from newsletter.readers import suppression_list

        kept = suppression_list.import_file(state.subscribers, path)
        errors = kept.errors
        line = f"imported {counted(kept.new, 'new suppression')}, {kept.known} already kept, {len(errors)} rejected"
        if kept.stopped:
            line += f"; stopped {counted(len(kept.stopped), 'subscriber')} they name: {', '.join(kept.stopped)}"
    else:
        from newsletter.readers import subscriptions

        report = subscriptions.import_file(state.settings, state.subscribers, path)
        errors = report.errors
        line = (
            f"imported {report.added} new, {report.updated} updated, {report.unchanged} unchanged, "
            f"{len(report.errors)} rejected"
        )
    for error in errors:
        click.echo(error, err=True)
    click.echo(line)
    if errors:
        sys.exit(1)


@subscribers.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--suppressions", is_flag=True, help=SUPPRESSIONS_HELP)
@pass_state
@reads_only
def subscribers_export(state: State, fmt: str, suppressions: bool) -> None:
    """Write every subscriber (or the suppression list) to stdout as CSV or JSON."""
    if suppressions:
        from newsletter.readers import suppression_list

        click.echo(suppression_list.export(state.subscribers.suppressions(), fmt), nl=False)
        return
    from newsletter.readers import subscriptions

    click.echo(subscriptions.export(state.roster.list(), fmt), nl=False)
