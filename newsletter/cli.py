"""The `newsletter` command: thin click commands, each calling one pipeline or store function.

Each command imports what it needs when it runs (the pipeline, the store, rich, ...): `--help` and the
short commands do not pay for SQLAlchemy, Alembic, premailer or numpy. Keep new imports in the bodies.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from newsletter import __version__
from newsletter.errors import NewsletterError
from newsletter.models import Status
from newsletter.subscriber_fields import FIELDS, Choice, read_all

if TYPE_CHECKING:
    from rich.console import Console

    from newsletter import pipeline
    from newsletter.config import Settings
    from newsletter.models import IngestResult, Paper, SubscriberChanges
    from newsletter.selection import Explained
    from newsletter.store import Database, PaperStore, SubscriberStore

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


class Group(click.Group):
    """Turns expected failures into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as exc:
            raise click.ClickException(str(exc)) from None


class State:
    """Settings and stores, created on first use so that `--help` needs neither; a command that only reads
    or writes the store does not load the pipeline."""

    def __init__(self, config: str | None) -> None:
        self.config = config

    @functools.cached_property
    def settings(self) -> Settings:
        from newsletter.config import load_settings

        return load_settings(self.config)

    def require_key(self) -> None:
        """Commands that sign or check reader links never run with a missing or published key."""
        from newsletter.config import require_secret_key

        require_secret_key(self.settings)

    @functools.cached_property
    def db(self) -> Database:
        from newsletter.store import Database

        return Database.open(self.settings)

    @functools.cached_property
    def subscribers(self) -> SubscriberStore:
        from newsletter.store import SubscriberStore

        return SubscriberStore(self.db)

    @functools.cached_property
    def papers(self) -> PaperStore:
        from newsletter.store import PaperStore

        return PaperStore(self.db)

    @functools.cached_property
    def app(self) -> pipeline.Context:
        from newsletter import pipeline

        return pipeline.Context(self.settings, self.db)


def pass_state(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(click.get_current_context().find_object(State), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")(func)


def date_option(help_text: str) -> Callable[[F], F]:
    return click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help=help_text)


def issue_day(state: State, day: datetime | None) -> date:
    from newsletter import pipeline

    return day.date() if day else pipeline.today(state.settings)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    envvar="NEWSLETTER_CONFIG",
    help="Config file (default: $NEWSLETTER_CONFIG, else ./newsletter.toml if present).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each step, including why a reader was skipped.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event; json for log collectors.",
)
@click.version_option(__version__, prog_name="newsletter")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool, log_format: str) -> None:
    """A personal daily digest of new research papers, ranked per reader and mailed over SMTP."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter("%(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)
    ctx.obj = State(config)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


# -- db ----------------------------------------------------------------------------------------------------


@main.group(cls=Group)
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Create or migrate the database schema to the latest revision."""
    from newsletter.store import Database

    database = Database.open(state.settings, migrate=False)
    before, after = database.upgrade()
    if before == after:
        click.echo(f"database {database.display_url} is up to date (revision {after})")
    else:
        click.echo(f"database {database.display_url} upgraded from {before or 'empty'} to {after}")


# -- ingest and papers -------------------------------------------------------------------------------------


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source: hf or arxiv (repeatable).")
@date_option("Announcement day to fetch (default: today).")
@click.option("--file", "path", type=click.Path(dir_okay=False), help="Ingest a feed file instead of fetching.")
@click.option(
    "--format",
    "fmt",
    default="hf",
    show_default=True,
    help="Format of --file: hf, arxiv-api, arxiv-rss, arxiv-atom, or arxiv-metadata (arXiv's bulk snapshot, "
    "JSON lines, .gz too: stored as background papers for search and ranking, never mailed as new).",
)
@click.option("--backfill", is_flag=True, help="Fetch every day from --from to --to.")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day of --backfill.")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day of --backfill.")
@json_option
@pass_state
def ingest(
    state: State,
    sources: tuple[str, ...],
    day: datetime | None,
    path: str | None,
    fmt: str,
    backfill: bool,
    start: datetime | None,
    end: datetime | None,
    as_json: bool,
) -> None:
    """Fetch new papers from the configured sources (or a file) and store them; exit 1 if any source failed."""
    from newsletter import pipeline

    if path and fmt == "arxiv-metadata":
        results = [import_metadata(state, path)]
    elif path:
        results = [pipeline.ingest_file(state.app, path, fmt)]
    elif backfill:
        if start is None or end is None:
            raise click.UsageError("--backfill needs --from and --to")
        results = pipeline.backfill(state.app, start.date(), end.date(), sources)
    else:
        results = pipeline.ingest(state.app, issue_day(state, day), sources)
    if as_json:
        print_json([{k: v for k, v in vars(r).items() if k != "validators"} for r in results])
    else:
        for r in results:
            click.echo(f"{r.source}: {r.status} — {r.new} new, {r.updated} updated, {r.unchanged} unchanged")
        click.echo(f"ingested {sum(r.new for r in results)} new papers ({state.app.papers.count()} stored)")
    for r in results:
        for problem in r.problems:
            click.echo(problem, err=True)
    failed = [r for r in results if r.status == "error"]
    if failed:
        raise NewsletterError("; ".join(f"{r.source}: {r.error}" for r in failed))
    if any(r.failed for r in results):
        sys.exit(1)


def import_metadata(state: State, path: str) -> IngestResult:
    """The snapshot import with a bar over the file's bytes, the papers read and their rate."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    from newsletter import pipeline
    from newsletter.sources.arxiv_metadata import Batch

    progress = Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[papers]:,} papers · {task.fields[rate]:,.0f}/s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
    )
    read = 0
    with progress:
        task = progress.add_task("import", total=None, papers=0, rate=0.0)
        started = time.monotonic()

        def advance(batch: Batch) -> None:
            nonlocal read
            read += len(batch.papers)
            rate = read / max(time.monotonic() - started, 1e-9)
            progress.update(task, total=batch.file_size, completed=batch.bytes_read, papers=read, rate=rate)

        return pipeline.ingest_metadata(state.app, path, advance)


@main.group(cls=Group)
def papers() -> None:
    """Stored papers."""


@papers.command("list")
@date_option("Only papers announced on this day.")
@click.option("--trending", is_flag=True, help="Order by trending score (upvotes and comments, newer first).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many papers.")
@json_option
@pass_state
def papers_list(state: State, day: datetime | None, trending: bool, limit: int | None, as_json: bool) -> None:
    """List stored papers, newest first (or trending first)."""
    show_papers(state.papers.list(on=day.date() if day else None, limit=limit, trending=trending), as_json)


# Unknown options pass through as words, so `papers search circuits -analog` needs no quoting.
@papers.command("search", context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only papers announced on or after this day.")
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=20, show_default=True, help="At most this many.")
@json_option
@pass_state
def papers_search(state: State, words: tuple[str, ...], since: datetime | None, limit: int, as_json: bool) -> None:
    """Full-text search of titles, abstracts and authors: words, "a phrase", -exclusion, a OR b.

    Ranked by relevance (title first), then trending."""
    from newsletter.query import parse as parse_query
    from newsletter.store import PaperSearch

    query = parse_query(" ".join(words))
    hits = PaperSearch(state.db).search(query, since=since.date() if since else None, limit=limit)
    show_papers([h.paper for h in hits], as_json, relevance=[h.relevance for h in hits])


def show_papers(found: list[Paper], as_json: bool, relevance: list[float] | None = None) -> None:
    from rich.table import Table

    from newsletter.trending import trending_score

    if as_json:
        rows = [
            {
                "id": p.id,
                "version": p.version,
                "title": p.title,
                "authors": list(p.authors),
                "categories": list(p.categories),
                "published": p.published,
                "announced": p.announced,
                "upvotes": p.upvotes,
                "trending": trending_score(p),
                "url": p.abs_url,
            }
            for p in found
        ]
        for row, score in zip(rows, relevance or (), strict=False):
            row["relevance"] = round(score, 4)
        print_json(rows)
        return
    table = Table("id", "announced", "▲", "title", box=None)
    for p in found:
        table.add_row(p.id, str(p.announced or ""), str(p.upvotes or ""), p.title)
    console().print(table)
    click.echo(f"{len(found)} papers")


# -- subscribers -------------------------------------------------------------------------------------------


@main.group(cls=Group)
def subscribers() -> None:
    """Manage subscribers (the CLI is the operator: added readers are active at once)."""


def subscriber_options(func: F) -> F:
    """One option per preference (subscriber_fields.FIELDS); lists repeat and replace the whole list."""
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
    from newsletter import subscriptions

    added = subscriptions.add(state.settings, state.subscribers, email, changes_from(kw))
    if as_json:
        print_json(added.to_dict())
    else:
        click.echo(f"added {added.email} ({len(added.preferences.topics)} topics)")


@subscribers.command("update")
@click.argument("email")
@subscriber_options
@json_option
@pass_state
def subscribers_update(state: State, email: str, as_json: bool, **kw: Any) -> None:
    """Change a subscriber's settings; list options replace the whole list."""
    from newsletter import subscriptions

    updated = subscriptions.update(state.subscribers, email, changes_from(kw))
    show_subscriber(updated.to_dict(), as_json)


@subscribers.command("list")
@click.option("--status", type=click.Choice([s.value for s in Status]), help="Only subscribers in this state.")
@json_option
@pass_state
def subscribers_list(state: State, status: str | None, as_json: bool) -> None:
    """List subscribers."""
    from rich.table import Table

    found = state.subscribers.list(Status(status) if status else None)
    if as_json:
        print_json([s.to_dict() for s in found])
        return
    table = Table("email", "status", "frequency", "hour", "timezone", "topics", box=None)
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
    click.echo(f"{len(found)} subscribers")


@subscribers.command("show")
@click.argument("email")
@json_option
@pass_state
def subscribers_show(state: State, email: str, as_json: bool) -> None:
    """Show one subscriber."""
    show_subscriber(state.subscribers.require(_address(email)).to_dict(), as_json)


def _address(email: str) -> str:
    from newsletter.addresses import normalize_email

    return normalize_email(email)


def _status_command(name: str, status: Status, verb: str) -> None:
    @subscribers.command(name, help=f"{verb.capitalize()} a subscriber.")
    @click.argument("email")
    @pass_state
    def command(state: State, email: str) -> None:
        changed = state.subscribers.set_status(_address(email), status)
        click.echo(f"{changed.email} is now {changed.status}")


_status_command("pause", Status.PAUSED, "pause")
_status_command("resume", Status.ACTIVE, "resume")
_status_command("unsubscribe", Status.UNSUBSCRIBED, "unsubscribe")


@subscribers.command("forget")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def subscribers_forget(state: State, email: str, yes: bool) -> None:
    """Erase a subscriber and their history; the address is never mailed again."""
    address = _address(email)
    state.subscribers.require(address)
    if not yes and sys.stdin.isatty():
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
        state.subscribers.add_feedback(_address(email), bare, liked)
        click.echo(f"{email} {name}s {bare}")


_feedback_command("like", True)
_feedback_command("dislike", False)


@subscribers.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_state
def subscribers_import(state: State, path: str) -> None:
    """Add or update subscribers from a CSV (header row) or JSON file."""
    from newsletter import subscriptions

    report = subscriptions.import_file(state.settings, state.subscribers, path)
    for error in report.errors:
        click.echo(error, err=True)
    click.echo(f"imported {report.added} new, {report.updated} updated, {len(report.errors)} rejected")
    if report.errors:
        sys.exit(1)


@subscribers.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@pass_state
def subscribers_export(state: State, fmt: str) -> None:
    """Write every subscriber to stdout as CSV or JSON."""
    from newsletter import subscriptions

    click.echo(subscriptions.export(state.subscribers.list(), fmt), nl=False)


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


# -- preview, send, status ---------------------------------------------------------------------------------


@main.command()
@click.argument("email")
@date_option("Issue date (default: today).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write the HTML to this file.")
@click.option("--text", is_flag=True, help="Print the plain-text part instead of the HTML.")
@click.option("--png", "png", type=click.Path(dir_okay=False), help="Save a screenshot (headless Chromium).")
@click.option("--width", type=click.IntRange(320, 1600), default=600, show_default=True, help="Screenshot width.")
@click.option("--dark", is_flag=True, help="Screenshot in dark mode.")
@click.option("--explain", is_flag=True, help="List the best candidates with the parts of their scores instead.")
@click.option("--top", type=click.IntRange(1, 500), default=15, show_default=True, help="Candidates --explain lists.")
@json_option
@pass_state
def preview(
    state: State,
    email: str,
    day: datetime | None,
    out_path: str | None,
    text: bool,
    png: str | None,
    width: int,
    dark: bool,
    explain: bool,
    top: int,
    as_json: bool,
) -> None:
    """Render a subscriber's digest without sending or recording anything; --explain shows why."""
    from newsletter import pipeline

    if explain:
        show_explained(pipeline.explain(state.app, _address(email), issue_day(state, day), top), as_json)
        return
    message = pipeline.preview(state.app, _address(email), issue_day(state, day))
    if png:
        import tempfile

        from newsletter.screenshot import screenshot

        with tempfile.TemporaryDirectory() as folder:
            page = Path(folder) / "digest.html"
            page.write_text(message.html, encoding="utf-8")
            screenshot(page, Path(png), width=width, dark=dark)
        click.echo(f"{message.subject}\nwrote {png} ({width} px{', dark' if dark else ''})")
        return
    body = message.text if text else message.html
    if out_path:
        Path(out_path).write_text(body, encoding="utf-8")
        click.echo(f"{message.subject}\nwrote {out_path} ({len(body.encode()) / 1024:.1f} KB)")
    else:
        click.echo(body)


def show_explained(rows: list[Explained], as_json: bool) -> None:
    if as_json:
        print_json(
            [
                {
                    "id": r.paper.id,
                    "title": r.paper.title,
                    "picked": r.picked,
                    "score": round(r.score, 4),
                    "topic": r.topic,
                    "lexical": round(r.lexical, 4),
                    "background": round(r.background, 4),
                    "categories": round(r.categories, 4),
                    "feedback": round(r.feedback, 4),
                    "excluded": r.excluded,
                    "already_sent": r.already_sent,
                    "why": r.why.to_dict() if r.why else None,
                }
                for r in rows
            ]
        )
        return
    from rich.table import Table

    from newsletter.selection import BACKGROUND_WEIGHT, CATEGORY_WEIGHT

    # score = lexical + weight x background + weight x categories + feedback (the best topic; others add a little)
    weighted = (f"backgr×{BACKGROUND_WEIGHT:g}", f"categ×{CATEGORY_WEIGHT:g}")
    table = Table(box=None)
    for header in ("", "id", "score", "lexical", *weighted, "feedb."):
        table.add_column(header, no_wrap=True)  # numbers and ids whole; the topic and the title wrap
    table.add_column("topic", ratio=1, overflow="fold")
    table.add_column("title", ratio=3, overflow="fold")
    for r in rows:
        mark = "✓" if r.picked else ("excluded" if r.excluded else ("sent" if r.already_sent else ""))
        parts = (r.score, r.lexical, r.background, r.categories, r.feedback)
        table.add_row(mark, r.paper.id, *(f"{v:.3f}" for v in parts), r.topic, r.paper.title)
    console().print(table)
    evidence = sorted({r.why.evidence for r in rows if r.why and r.why.kind == "topic" and r.why.evidence})
    for line in evidence:
        click.echo(f"background: {line}")
    click.echo(f"the best {len(rows)} candidates, {sum(r.picked for r in rows)} of them picked (✓)")


@main.command()
@date_option("Issue date (default: today).")
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

    options = pipeline.SendOptions(
        issue_date=issue_day(state, day),
        to=tuple(_address(e) for e in to),
        dry_run=dry_run,
        outbox=outbox,
        show_progress=sys.stderr.isatty(),
        resend=resend,
        workers=workers,
    )
    summary = pipeline.send_issue(state.app, options)
    for email, outcome, detail in summary.outcomes:
        if outcome != "sent":
            click.echo(f"  {email}: {outcome} ({detail})")
    click.echo(summary.line(f"issue {options.issue_date}" + (" (dry run)" if dry_run else "")))


@main.command()
@click.option("--once", is_flag=True, help="Exit when nothing is ready to send instead of waiting for more.")
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between looks for work.")
@pass_state
def worker(state: State, once: bool, poll: float) -> None:
    """Claim and send ready deliveries of any issue; several may share one PostgreSQL database."""
    state.require_key()
    import signal
    import threading

    from newsletter import pipeline

    stop = threading.Event()

    def halt(*_: object) -> None:
        pipeline.SHUTDOWN.set()
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, halt)
    summary = pipeline.run_worker(state.app, stop, poll=poll, once=once)
    click.echo(summary.line("worker"))


@main.command()
@date_option("Only this issue.")
@click.option("--deliverability", is_flag=True, help="Per recipient domain: sent, bounces, complaints, unsubscribes.")
@json_option
@pass_state
def status(state: State, day: datetime | None, deliverability: bool, as_json: bool) -> None:
    """Deliveries per issue by state, the last errors, the last ingests and the next sends."""
    if deliverability:
        _deliverability(state, day, as_json)
        return
    from newsletter import pipeline

    issues = state.app.ledger.status(day.date() if day else None)
    runs = state.app.papers.last_runs()
    slots = pipeline.send_slots(state.app)
    if as_json:
        print_json(
            {
                "issues": [
                    {
                        "issue_date": i.issue_date,
                        "counts": i.counts,
                        "last_errors": [
                            {"email": e.email, "state": e.state, "code": e.last_code, "reply": e.last_reply}
                            for e in i.last_errors
                        ],
                    }
                    for i in issues
                ],
                "ingests": [vars(r) for r in runs],
                "papers": state.app.papers.count(),
                "next_sends": [
                    {
                        "timezone": x.timezone,
                        "send_hour": x.send_hour,
                        "weekday": x.weekday,
                        "readers": x.readers,
                        "at": x.next,
                    }
                    for x in slots
                ],
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
            click.echo(f"  {e.email}: {e.state} {e.last_code} {e.last_reply}")
    for x in slots[:5]:
        weekly = f", weekly on {x.next:%a}" if x.weekday is not None else ""
        click.echo(
            f"next send {x.next:%Y-%m-%d %H:%M %Z}: {x.readers} readers ({x.timezone}, {x.send_hour:02d}:00{weekly})"
        )


@main.command()
@click.option(
    "--path",
    type=click.Path(dir_okay=False),
    default="newsletter.toml",
    show_default=True,
    help="Where to write the config (never overwritten).",
)
def init(path: str) -> None:
    """Write a starter config with a fresh random web.secret_key (mode 0600)."""
    from newsletter.config import write_initial

    write_initial(Path(path))
    click.echo(f"wrote {path} with a fresh web.secret_key (keep it secret; changing it kills old links)")
    click.echo(
        "next: set [web] base_url, [smtp] and [sender] in it (every key: config.example.toml), "
        f"then `newsletter --config {path} db upgrade`"
    )


def _deliverability(state: State, day: datetime | None, as_json: bool) -> None:
    from rich.table import Table

    from newsletter import pipeline

    report = pipeline.deliverability(state.app, day.date() if day else None)
    for warning in report.warnings:
        logging.getLogger("newsletter").warning("%s", warning)
    if as_json:
        print_json(report.to_dict())
        return
    table = Table("domain", "sent 7d/30d", "hard", "soft", "complaints", "unsubscribes", "suppressed")
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


# -- scheduler and demo ------------------------------------------------------------------------------------


@main.command()
@pass_state
def jobs(state: State) -> None:
    """List the scheduled jobs and their next run times."""
    from newsletter import pipeline, schedule

    for name, when in schedule.next_runs(state.settings):
        click.echo(f"{name}: next run {when:%Y-%m-%d %H:%M %Z}")
    slots = pipeline.send_slots(state.app)
    for slot in slots:
        click.echo(
            f"  {slot.readers:>6} readers at {slot.send_hour:02d}:00 {slot.timezone}"
            f"{f' on {slot.next:%A}s' if slot.weekday is not None else ''}: next {slot.next:%Y-%m-%d %H:%M %Z}"
        )
    if not slots:
        click.echo("  no active readers")


@main.command()
@pass_state
def run(state: State) -> None:
    """Run the scheduler in the foreground (daily ingest, then the day's issue); SIGTERM stops it cleanly."""
    from newsletter import schedule

    state.require_key()
    logging.getLogger("newsletter").setLevel(logging.INFO)
    schedule.run_forever(state.app)


@main.command()
@click.option("--host", help="Address to listen on (default: web.host).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default: web.port).")
@pass_state
def serve(state: State, host: str | None, port: int | None) -> None:
    """Serve the reader's web pages: daily papers and search, sign-up (double opt-in), preferences,
    one-click unsubscribe (RFC 8058), the archive and /healthz."""
    import uvicorn

    from newsletter import listener
    from newsletter.web import create_app

    state.require_key()
    web = state.settings.web
    host, port = host or web.host, port or web.port
    sockets = listener.bind(host, port)
    # uvicorn's access log prints each path as it is, reader tokens included: the app writes its own.
    logging.getLogger("newsletter.web.access").setLevel(logging.INFO)
    config = uvicorn.Config(create_app(state.app), log_level="info", access_log=False)
    click.echo(f"Serving on http://{listener.place(host, port)} (Ctrl+C stops)", err=True)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl+C once it has shut down cleanly
        uvicorn.Server(config).run(sockets=sockets)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="demo-out",
    show_default=True,
    help="Where to write the database and the received messages.",
)
@pass_state
def demo(state: State, out_dir: str) -> None:
    """Ingest the bundled sample papers and mail four demo readers through a local capture SMTP server."""
    from newsletter import demo as demo_module

    demo_module.run(state.settings, Path(out_dir), console())
