"""`newsletter ingest`: fetch papers from the sources, a feed file or arXiv's bulk metadata snapshot."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from newsletter.cli.root import (
    State,
    counted,
    date_option,
    issue_day,
    json_option,
    main,
    pass_state,
    print_json,
)
from newsletter.errors import NewsletterError
from newsletter.interrupts import stop_on_signals

if TYPE_CHECKING:
    from newsletter.models import IngestResult


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source: hf or arxiv (repeatable).")
@date_option("Announcement day to fetch (default: today).")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Ingest a feed file instead of fetching ('-': standard input).",
)
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

    if (start or end) and not backfill:  # else they were ignored, and today fetched
        raise click.UsageError("--from and --to go with --backfill (one day: --date)")
    if path == "-" and fmt == "arxiv-metadata":
        raise click.UsageError("--format arxiv-metadata reads a file (another process streams it): give its path")
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
        click.echo(f"ingested {counted(sum(r.new for r in results), 'new paper')} ({state.app.papers.count()} stored)")
    for r in results:
        if r.status == "error":
            continue  # its error says what it is, below
        for problem in r.problems:
            click.echo(problem, err=True)
        if r.errors > len(r.problems):
            click.echo(f"… and {r.errors - len(r.problems):,} more unusable entries of {r.source}", err=True)
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
    stop_on_signals(pipeline.SHUTDOWN.set)  # a first Ctrl-C ends the import after the batch it is storing
    with progress:
        task = progress.add_task("import", total=None, papers=0, rate=0.0)
        started = time.monotonic()

        def advance(batch: Batch) -> None:
            nonlocal read
            read += len(batch.papers)
            rate = read / max(time.monotonic() - started, 1e-9)
            progress.update(task, total=batch.file_size, completed=batch.bytes_read, papers=read, rate=rate)

        return pipeline.ingest_metadata(state.app, path, advance)
