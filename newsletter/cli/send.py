"""`newsletter send`, `worker`, `status` and `jobs`: sending issues and watching what was sent and is due."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta

import click

from newsletter.cli.root import (
    State,
    console,
    counted,
    date_option,
    issue_day,
    json_option,
    main,
    normalized,
    pass_state,
    print_json,
    reads_only,
)
from newsletter.errors import InputError
from newsletter.interrupts import stop_on_signals


@main.command()
@date_option("Issue date (default: today).", issue=True)
@click.option("--to", "to", multiple=True, help="Only this subscriber (repeatable), even if not due today.")
@click.option("--dry-run", is_flag=True, help="Build the messages but send and record nothing.")
@click.option("--outbox", type=click.Path(file_okay=False), help="Also write each message as DIR/<n>.eml.")
@click.option("--resend", is_flag=True, help="Retry failed (and parked) deliveries; with --to, re-send on purpose.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Sending processes.")
@pass_state
def send(
    state: State,
    day: datetime | None,
    to: tuple[str, ...],
    dry_run: bool,
    outbox: str | None,
    resend: bool,
    workers: int,
) -> None:
    """Send today's issue to every active subscriber due today (ignoring send hours)."""
    state.require_key()
    from newsletter import pipeline

    issue = issue_day(state, day)
    today = pipeline.today(state.settings)
    if issue > today + timedelta(days=1):  # a day ahead: readers east of the schedule's zone are there already
        raise InputError(f"--date {issue}: that issue's day has not come yet (today is {today})")
    options = pipeline.SendOptions(
        issue_date=issue,
        to=tuple(normalized(e) for e in to),
        dry_run=dry_run,
        outbox=outbox,
        show_progress=sys.stderr.isatty(),
        resend=resend,
        workers=workers,
    )
    stop_on_signals(pipeline.SHUTDOWN.set)
    summary = pipeline.send_issue(state.app, options)
    for email, outcome, detail in summary.outcomes:
        if outcome != "sent":
            click.echo(f"  {email}: {outcome} ({detail})")
    if summary.skipped_unnamed:
        click.echo(f"  {summary.skipped_unnamed}")
    if dry_run:
        made = f"written to {outbox} (nothing sent)" if outbox else "built (nothing sent)"
        click.echo(summary.line(f"issue {options.issue_date} (dry run)", sent_as=made))
    else:
        click.echo(summary.line(f"issue {options.issue_date}"))
    if summary.sent and not dry_run:
        state.warn_example_values()
    if pipeline.SHUTDOWN.is_set() and not dry_run:
        raise click.ClickException(f"interrupted after {summary.sent} sent: the rest stays pending, run `send` again")


@main.command()
@click.option("--once", is_flag=True, help="Exit when nothing is ready to send instead of waiting for more.")
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between looks for work.")
@pass_state
def worker(state: State, once: bool, poll: float) -> None:
    """Claim and send ready deliveries of any issue; several may share one PostgreSQL database."""
    state.require_key()
    state.warn_example_values()
    import threading

    from newsletter import pipeline

    stop = threading.Event()

    def halt() -> None:
        pipeline.SHUTDOWN.set()
        stop.set()

    stop_on_signals(halt)
    summary = pipeline.run_worker(state.app, stop, poll=poll, once=once)
    click.echo(summary.line("worker"))


@main.command()
@date_option("Only this issue.")
@click.option("--deliverability", is_flag=True, help="Per recipient domain: sent, bounces, complaints, unsubscribes.")
@json_option
@pass_state
@reads_only
def status(state: State, day: datetime | None, deliverability: bool, as_json: bool) -> None:
    """Deliveries per issue by state, the last errors, the last ingests and the next sends."""
    if deliverability:
        _deliverability(state, day, as_json)
        return
    from newsletter import pipeline

    issues = state.app.deliveries.status(day.date() if day else None)
    runs = state.app.ingest_runs.latest()
    slots = pipeline.send_slots(state.app)
    if as_json:
        print_json(
            {
                "issues": [i.to_dict() for i in issues],
                "ingests": [vars(r) for r in runs],
                "papers": state.app.papers.count(),
                "next_sends": [slot.to_dict() for slot in slots],
            }
        )
        return
    click.echo(f"{state.app.papers.count()} papers stored")
    for r in runs[:5]:
        click.echo(
            f"ingest {r.source} at {r.started_at:%Y-%m-%d %H:%M} UTC: {r.status}, {r.new} new"
            + (f" — {r.error}" if r.error else "")
        )
    if not issues:
        click.echo("no issues sent yet")
    for i in issues:
        counts = ", ".join(f"{n} {s}" for s, n in i.counts.items() if n)
        click.echo(f"issue {i.issue_date}: {counts or 'nothing'}")
        for e in i.last_errors:
            click.echo(f"  {e.email}: {e.state} {e.last_code} {e.last_reply} ({e.next_step()})")
    for x in slots[:5]:
        weekly = f", weekly on {x.next:%a}" if x.weekday is not None else ""
        click.echo(f"next send {x.when()}: {counted(x.readers, 'reader')} ({x.timezone}, {x.send_hour:02d}:00{weekly})")


def _deliverability(state: State, day: datetime | None, as_json: bool) -> None:
    from rich.table import Column, Table

    from newsletter import pipeline

    report = pipeline.deliverability(state.app, day.date() if day else None)
    for warning in report.warnings:
        logging.getLogger("newsletter").warning("%s", warning)
    if as_json:
        print_json(report.to_dict())
        return
    domain = Column("domain", overflow="fold")  # folded when it must be, never cut short with '…'
    table = Table(domain, "sent 7d/30d", "hard", "soft", "complaints", "unsubscribes", "suppressed")
    for row in report.domains:
        table.add_row(
            row["domain"],
            *(f"{row[k]['7d']}/{row[k]['30d']}" for k in ("sent", "hard_bounces", "soft_bounces", "complaints")),
            f"{row['unsubscribes']['7d']}/{row['unsubscribes']['30d']}",
            str(row["suppressions"]),
        )
    console().print(table)
    for issue in report.issues:
        click.echo(
            f"issue {issue.issue_date}: {issue.attempted} sent, {issue.bounces} bounced ({issue.bounce_rate:.1%}), "
            f"{issue.complaints} complaints ({issue.complaint_rate:.2%})"
        )
    click.echo(f"{report.unattributed[30]} reports in 30 days proved no message of ours (unattributed, ignored)")


@main.command()
@json_option
@pass_state
@reads_only
def jobs(state: State, as_json: bool) -> None:
    """List the scheduled jobs and their next run times."""
    from newsletter import pipeline, schedule

    if as_json:
        print_json(
            {
                "jobs": [{"name": name, "next_run": when} for name, when in schedule.next_runs(state.settings)],
                "send_slots": [slot.to_dict() for slot in pipeline.send_slots(state.app)],
            }
        )
        return
    for name, when in schedule.next_runs(state.settings):
        click.echo(f"{name}: next run {when:%Y-%m-%d %H:%M %Z}")
    slots = pipeline.send_slots(state.app)
    for slot in slots:
        click.echo(
            f"  {counted(slot.readers, 'reader'):>14} at {slot.send_hour:02d}:00 {slot.timezone}"
            f"{f' on {slot.next:%A}s' if slot.weekday is not None else ''}: next {slot.when()}"
        )
    if not slots:
        click.echo("  no active readers")
