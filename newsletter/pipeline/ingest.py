"""Ingest: feeds, backfills, files and the metadata snapshot fetched, cleaned and stored, one run row each."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from newsletter.errors import FeedError, InputError, StoreError
from newsletter.interrupts import SHUTDOWN
from newsletter.models import IngestResult
from newsletter.pipeline.context import Context, today

if TYPE_CHECKING:
    from newsletter.sources.arxiv_metadata import Batch
    from newsletter.sources.base import ParsedFeed

log = logging.getLogger(__name__)


# Problems listed in full in an import's result; the rest are counted (a broken snapshot must not fill memory).
PROBLEMS_KEPT = 20
BY_HAND = "file:"  # the source name of a file imported by hand begins so: file:<format>


def ingest_missed(ctx: Context, now: datetime | None = None) -> bool:
    """Whether today's ingest time has passed without a fetch of the sources since (the daemon was down then:
    a deploy, a reboot): the ingest is due now, not tomorrow. A file imported by hand is not that fetch."""
    schedule = ctx.settings.schedule
    tz = ZoneInfo(schedule.timezone)
    local = (now or datetime.now(tz)).astimezone(tz)
    due = schedule.at(schedule.ingest_at, local)
    if local < due:
        return False
    return not any(run.started_at >= due and not run.source.startswith(BY_HAND) for run in ctx.ingest_runs.latest(50))


def ingest(ctx: Context, day: date, names: Sequence[str] = ()) -> list[IngestResult]:
    """Fetch each source in its own error boundary and transaction; a broken one stops no other."""
    from newsletter.sources.registry import configured_sources  # feedparser and httpx: only ingesting loads them

    results = []
    for source in configured_sources(ctx.settings, tuple(names)):
        try:
            validators = ctx.ingest_runs.last_validators(source.name)
            result = _run(ctx, source.name, functools.partial(source.fetch, day, validators))
            assert result is not None  # fetch always answers
            results.append(result)
        finally:
            source.close()
    return results


def backfill(ctx: Context, start: date, end: date, names: Sequence[str] = ()) -> list[IngestResult]:
    """Every day of [start, end] from each source, page by page, each page its own transaction."""
    if end < start:
        raise InputError(f"--from {start} is after --to {end}")
    from newsletter.sources.registry import configured_sources

    results = []
    for source in configured_sources(ctx.settings, tuple(names)):
        pages = source.backfill(start, end)
        try:
            while (result := _run(ctx, source.name, lambda p=pages: next(p, None))) is not None:  # type: ignore[misc]
                results.append(result)
                if result.status == "error":
                    break
        finally:
            source.close()
    return results


def ingest_file(ctx: Context, path: str | Path, fmt: str) -> IngestResult:
    from newsletter.sources.registry import parser_for

    parse = parser_for(fmt)

    def read() -> ParsedFeed:
        stdin = str(path) == "-"
        where = "standard input" if stdin else str(path)
        try:
            data = sys.stdin.buffer.read() if stdin else Path(path).read_bytes()
        except OSError as exc:
            raise FeedError(f"cannot read feed file {where}: {exc.strerror}") from None
        return parse(data, where)

    result = _run(ctx, f"{BY_HAND}{fmt}", read)
    assert result is not None
    return result


def ingest_metadata(ctx: Context, path: str | Path, progress: Callable[[Batch], None] | None = None) -> IngestResult:
    """Import arXiv's metadata snapshot as background papers, a batch per transaction (memory stays flat; an
    interrupted import keeps what it stored and a re-run skips it by fingerprint)."""
    from newsletter.sources import arxiv_metadata
    from newsletter.sources.clean import strip_controls
    from newsletter.sources.snapshot_reader import cleaned_batches

    name = f"{BY_HAND}{arxiv_metadata.SOURCE}"
    started = datetime.now(UTC)
    new = updated = unchanged = errors = 0
    problems: list[str] = []
    error: str | None = None
    try:
        # Read, parsed and cleaned by another process while this one stores the batch before; closed here,
        # its reader stopped, whatever ends the loop.
        with closing(cleaned_batches(path, ctx.settings.ingest, name)) as read:
            for batch in read:
                counts = ctx.papers.upsert(batch.papers)
                new, updated, unchanged = new + counts.new, updated + counts.updated, unchanged + counts.unchanged
                errors += len(batch.problems)
                problems.extend(batch.problems[: PROBLEMS_KEPT - len(problems)])
                if progress is not None:
                    progress(batch)
                if SHUTDOWN.is_set():  # Ctrl-C or SIGTERM: the batch just stored is the last
                    break
    except FeedError as exc:
        # A SIGTERM to the whole process group (systemd, `timeout`) ends the reader as well: a stop, said below.
        error = None if SHUTDOWN.is_set() else str(exc)
    except StoreError as exc:
        error = str(exc)
    stored = new + updated + unchanged
    if error is None and SHUTDOWN.is_set():
        error = f"interrupted after {stored:,} papers of {path}: what is stored is kept; run the same command again"
    elif error is None and errors and not stored:  # another kind of file, most likely: not a partial import
        error = f"{path}: none of its {errors:,} records is usable (the first: {problems[0]})"
    if error is not None:
        result = IngestResult(
            name, "error", new, updated, unchanged, errors, error=strip_controls(error), problems=tuple(problems)
        )
    else:
        status = "partial" if errors else "ok"
        result = IngestResult(
            name, status, new, updated, unchanged, errors, problems[0] if problems else None, problems=tuple(problems)
        )
    ctx.ingest_runs.record(result, started)
    return result


def _run(ctx: Context, name: str, fetch: Callable[[], ParsedFeed | None]) -> IngestResult | None:
    """Fetch, clean and store one feed (None: nothing left to fetch). Every run leaves its ingest_runs row:
    a feed that fails (or a store that refuses it) is recorded as an error, never half-stored; an entry
    that cannot be used is skipped and named in the run's problems."""
    from newsletter.sources.clean import clean_feed, strip_controls

    started = datetime.now(UTC)
    try:
        parsed = fetch()
        if parsed is None:
            return None
        parsed = clean_feed(parsed, ctx.settings.ingest, name)
        result = _store(ctx, name, parsed)
    except (FeedError, StoreError) as exc:
        result = IngestResult(name, "error", error=strip_controls(str(exc)))
    ctx.ingest_runs.record(result, started)
    return result


def _store(ctx: Context, name: str, parsed: ParsedFeed) -> IngestResult:
    """Upsert what a feed brought; a paper with no announcement date counts as announced today."""
    problems = parsed.problems
    if parsed.not_modified:
        return IngestResult(name, "not_modified", validators=parsed.validators)
    if parsed.empty:
        return IngestResult(name, "no_announcement", validators=parsed.validators)
    seen_on = today(ctx.settings)
    papers = [p if p.announced else replace(p, announced=seen_on) for p in parsed.papers]
    if problems and not papers and not parsed.updates:  # every entry unusable: a broken feed, not a partial one
        error = f"none of its {len(problems):,} entries is usable (the first: {problems[0]})"
        return IngestResult(name, "error", errors=len(problems), error=error, problems=problems)
    counts = ctx.papers.upsert(papers, parsed.updates, today=seen_on)
    return IngestResult(
        name,
        "partial" if problems else "ok",
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged,
        errors=len(problems),
        error=problems[0] if problems else None,
        validators=parsed.validators,
        problems=problems,
    )


def run_ingest(ctx: Context) -> list[IngestResult]:
    """The scheduler's daily ingest: today's announcement from every configured source."""
    results = ingest(ctx, today(ctx.settings))
    for result in results:
        if result.status == "error":
            log.error("ingest %s failed: %s", result.source, result.error)
        for problem in result.problems:
            log.warning("ingest %s: %s", result.source, problem)
    return results
