"""`newsletter papers`: list and search the stored papers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from newsletter.cli.root import (
    Group,
    State,
    console,
    counted,
    date_option,
    json_option,
    main,
    pass_state,
    print_json,
    reads_only,
)

if TYPE_CHECKING:
    from newsletter.models import Paper


@main.group(cls=Group)
def papers() -> None:
    """Stored papers."""


@papers.command("list")
@date_option("Only papers announced on this day.")
@click.option("--trending", is_flag=True, help="Order by trending score (upvotes and comments, newer first).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many papers.")
@json_option
@pass_state
@reads_only
def papers_list(state: State, day: datetime | None, trending: bool, limit: int | None, as_json: bool) -> None:
    """List stored papers, newest first (or trending first); background papers are searched, not listed."""
    show_papers(state.papers.list(on=day.date() if day else None, limit=limit, trending=trending), as_json)
    if not (as_json or day) and (background := state.papers.count(background=True)):
        click.echo(f"and {background:,} background papers, not listed: find them with 'newsletter papers search'")


# Unknown options pass through as words, so `papers search circuits -analog` needs no quoting.
@papers.command("search", context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only papers announced on or after this day.")
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=20, show_default=True, help="At most this many.")
@json_option
@pass_state
@reads_only
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

    from newsletter.paper_views import paper_record

    if as_json:
        scores: list[float | None] = [*relevance] if relevance else [None] * len(found)
        print_json([paper_record(p, score) for p, score in zip(found, scores, strict=True)])
        return
    table = Table("id", "announced", "▲", "title", box=None)
    for p in found:
        table.add_row(p.id, str(p.announced or ""), str(p.upvotes or ""), p.title)
    console().print(table)
    click.echo(counted(len(found), "paper"))
