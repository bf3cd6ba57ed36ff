"""arXiv query API (`export.arxiv.org/api/query`), current and legacy formats: bytes -> Papers, and the client.

The client completes papers from the announcement feeds (all authors, categories, primary category,
comment) and back-fills date ranges. arXiv asks for one request every 3 s over one connection; an empty
page for a query that has results is a known hiccup, retried with backoff.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from newsletter.config import ArxivSourceSettings
from newsletter.errors import FeedError
from newsletter.models import Paper, merge_papers
from newsletter.sources import xmlfeed
from newsletter.sources.base import ParsedFeed
from newsletter.sources.fetch import Fetcher
from newsletter.sources.ids import split_arxiv_id
from newsletter.sources.text import parse_timestamp, squash

ID_BATCH = 100
PAGE_SIZE = 200
EMPTY_PAGE_RETRIES = 3


def parse(data: bytes, where: str, day: date | None = None) -> ParsedFeed:
    """Parse one API answer; an arXiv error feed (one entry titled Error) is a FeedError with its message."""
    feed, problems = xmlfeed.load(data, where)
    entries = feed.entries
    if len(entries) == 1 and entries[0].get("title") == "Error" and "/api/errors" in entries[0].get("id", ""):
        raise FeedError(f"{where}: arXiv API error: {squash(entries[0].get('summary'))}")
    papers: list[Paper] = []
    for index, entry in enumerate(entries, start=1):
        try:
            papers.append(_paper(entry, day))
        except (FeedError, KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{where}: entry {index}: {exc}")
    total = feed.feed.get("opensearch_totalresults")
    return ParsedFeed(tuple(papers), tuple(problems), total=int(total) if str(total or "").isdigit() else None)


def _paper(entry: Any, day: date | None) -> Paper:
    arxiv_id, version = split_arxiv_id(entry.get("id", ""))
    title = squash(entry.get("title"))
    if not title:
        raise FeedError("no title")
    primary = entry.get("arxiv_primary_category") or {}
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=squash(entry.get("summary")),
        authors=tuple(squash(a.get("name")) for a in entry.get("authors", []) if a.get("name")),
        categories=tuple(t["term"] for t in entry.get("tags", []) if t.get("term")),
        primary_category=primary.get("term") or None,
        published=parse_timestamp(entry.get("published")),
        updated=parse_timestamp(entry.get("updated")),
        announced=day,
        comment=squash(entry.get("arxiv_comment")) or None,
        sources=("arxiv",),
    )


class ArxivApi:
    def __init__(self, settings: ArxivSourceSettings, fetcher: Fetcher | None = None) -> None:
        self.settings = settings
        self.fetcher = fetcher or Fetcher.for_source(
            settings, accept="application/atom+xml", min_interval=settings.api_interval
        )

    def close(self) -> None:
        self.fetcher.close()

    def query(
        self, params: Mapping[str, str | int], expected: int | None = None, day: date | None = None
    ) -> ParsedFeed:
        """One page; an empty page when results exist (per totalResults or `expected`) is retried."""
        where = self.settings.api_url
        for attempt in range(EMPTY_PAGE_RETRIES + 1):
            got = self.fetcher.get(self.settings.api_url, params=params)
            parsed = parse(got.body, where, day)
            wanted = expected if expected is not None else max(0, (parsed.total or 0) - int(params.get("start", 0)))
            if parsed.papers or parsed.problems or wanted == 0:
                return parsed
            if attempt < EMPTY_PAGE_RETRIES:
                self.fetcher.sleep(self.fetcher.backoff_delay(attempt))
        raise FeedError(f"{where}: empty page for a query with {wanted} results (gave up after {attempt + 1} tries)")

    def complete(self, parsed: ParsedFeed) -> ParsedFeed:
        """Merge what the API knows into feed papers; if the API fails the feed papers still go in."""
        found: dict[str, Paper] = {}
        problems = list(parsed.problems)
        ids = [p.id for p in parsed.papers]
        for start in range(0, len(ids), ID_BATCH):
            batch = ids[start : start + ID_BATCH]
            try:
                answer = self.query({"id_list": ",".join(batch), "max_results": len(batch)}, expected=len(batch))
            except FeedError as exc:
                problems.append(f"could not complete {len(batch)} papers from the arXiv API: {exc}")
                continue
            found.update((p.id, p) for p in answer.papers)
            problems.extend(answer.problems)
        papers = tuple(merge_papers(p, found[p.id]) if p.id in found else p for p in parsed.papers)
        return ParsedFeed(papers, tuple(problems), parsed.updates, parsed.not_modified, parsed.validators)

    def backfill(self, start: date, end: date) -> Iterator[ParsedFeed]:
        """Papers submitted on each day of [start, end] in the configured categories, a page at a time."""
        categories = " OR ".join(f"cat:{c}" for c in self.settings.categories)
        day = start
        while day <= end:
            query = f"({categories}) AND submittedDate:[{day:%Y%m%d}0000 TO {day:%Y%m%d}2359]"
            offset = 0
            while True:
                page = self.query(
                    {"search_query": query, "start": offset, "max_results": PAGE_SIZE, "sortBy": "submittedDate"}
                )
                yield _announced_on_publication(page)
                offset += PAGE_SIZE
                if offset >= (page.total or 0) or not page.papers:
                    break
            day += timedelta(days=1)


def _announced_on_publication(page: ParsedFeed) -> ParsedFeed:
    """Back-filled papers have no announcement feed behind them: their publication day stands in for it."""
    papers = tuple(
        p if p.announced or p.published is None else replace(p, announced=p.published.date()) for p in page.papers
    )
    return ParsedFeed(papers, page.problems, total=page.total)
