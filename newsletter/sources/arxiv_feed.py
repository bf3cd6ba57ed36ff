"""arXiv announcement feeds (`rss.arxiv.org/rss/{cats}` and `/atom/{cats}`): bytes -> Papers, and the fetcher.

One feed is one announcement day. `new` entries are papers; `cross` ones too when cross-lists are wanted;
`replace`/`replace-cross` carry a new version of a paper announced earlier, so they only update papers
already stored. An empty channel (weekends, holidays) is "no announcement", not an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from newsletter.config import ArxivSourceSettings
from newsletter.errors import FeedError
from newsletter.models import Paper, Validators
from newsletter.sources import xmlfeed
from newsletter.sources.arxiv_api import ArxivApi
from newsletter.sources.base import ParsedFeed
from newsletter.sources.fetch import Fetcher
from newsletter.sources.ids import split_arxiv_id
from newsletter.sources.text import squash

_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*[\w-]+\s*(?:Abstract:\s*)?", re.IGNORECASE)
NEW_TYPES = frozenset({"new"})
CROSS_TYPES = frozenset({"cross"})
REPLACE_TYPES = frozenset({"replace", "replace-cross"})


def split_authors(creator: str) -> tuple[str, ...]:
    """'A (MIT, USA), B and C' -> ('A', 'B', 'C'): commas inside parentheses are affiliations, not breaks."""
    names: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in creator:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            names.append("".join(current))
            current = []
            continue
        if depth == 0 and ch != ")":
            current.append(ch)
    names.append("".join(current))
    out: list[str] = []
    for name in names:
        out.extend(part for part in re.split(r"\s+and\s+", squash(name)) if part)
    return tuple(out)


def _announced(entry: Any, feed: Any) -> date | None:
    """The announcement day as arXiv states it (US Eastern midnight), from the entry or the channel."""
    for raw in (entry.get("published"), feed.get("published"), feed.get("updated")):
        if not raw:
            continue
        try:
            return datetime.fromisoformat(raw).date()
        except ValueError:
            try:
                return parsedate_to_datetime(raw).date()
            except (TypeError, ValueError):
                continue
    return None


def parse(data: bytes, where: str, day: date | None = None, include_cross_lists: bool = False) -> ParsedFeed:
    feed, problems = xmlfeed.load(data, where)
    title = feed.feed.get("title", "")
    if title.startswith("Feed error"):
        raise FeedError(f"{where}: {title}")
    keep = NEW_TYPES | (CROSS_TYPES if include_cross_lists else frozenset())
    papers: list[Paper] = []
    updates: list[Paper] = []
    for index, entry in enumerate(feed.entries, start=1):
        try:
            kind = (entry.get("arxiv_announce_type") or "new").strip().lower()
            if kind not in keep and kind not in REPLACE_TYPES:
                continue
            paper = _paper(entry, feed.feed, day)
        except (FeedError, KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{where}: entry {index}: {exc}")
            continue
        (updates if kind in REPLACE_TYPES else papers).append(paper)
    return ParsedFeed(tuple(papers), tuple(problems), tuple(updates))


def _paper(entry: Any, feed: Any, day: date | None) -> Paper:
    raw_id = entry.get("id") or entry.get("link") or ""
    if not raw_id:
        raise FeedError("no id")
    arxiv_id, version = split_arxiv_id(raw_id)
    if version is None:
        match = re.match(r"\s*arXiv:(\S+)", entry.get("summary", ""))
        if match:
            version = split_arxiv_id(match.group(1))[1]
    title = squash(entry.get("title"))
    if not title:
        raise FeedError("no title")
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=squash(_PREFIX.sub("", entry.get("summary", ""))),
        authors=split_authors(entry.get("author", "")),
        categories=tuple(t["term"] for t in entry.get("tags", []) if t.get("term")),
        announced=_announced(entry, feed) or day,
        sources=("arxiv",),
    )


class ArxivFeedSource:
    """Today's announcement for the configured categories, completed from the query API when enabled."""

    name = "arxiv"

    def __init__(
        self, settings: ArxivSourceSettings, fetcher: Fetcher | None = None, api: ArxivApi | None = None
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher or Fetcher.for_source(settings, accept="application/rss+xml, application/atom+xml")
        self.api = api or ArxivApi(settings)

    @property
    def url(self) -> str:
        return f"{self.settings.feed_url.rstrip('/')}/{'+'.join(self.settings.categories)}"

    def fetch(self, day: date, validators: Validators | None = None) -> ParsedFeed:
        got = self.fetcher.get(self.url, validators=validators)
        if got.status == 304:
            return ParsedFeed(not_modified=True, validators=got.validators)
        parsed = parse(got.body, self.url, day, self.settings.include_cross_lists)
        if self.settings.complete and parsed.papers:
            parsed = self.api.complete(parsed)
        return ParsedFeed(parsed.papers, parsed.problems, parsed.updates, validators=got.validators)

    def backfill(self, start: date, end: date) -> Iterator[ParsedFeed]:
        return self.api.backfill(start, end)

    def close(self) -> None:
        self.fetcher.close()
        self.api.close()
