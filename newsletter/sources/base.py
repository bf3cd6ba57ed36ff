"""What every source provides: a parser from bytes to papers, and (for live sources) a fetcher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from newsletter.models import Paper


@dataclass(frozen=True)
class ParsedFeed:
    """The papers a feed yielded, and one message per entry that could not be used."""

    papers: tuple[Paper, ...]
    problems: tuple[str, ...] = ()


class Parser(Protocol):
    def __call__(self, data: bytes, where: str, day: date | None = None) -> ParsedFeed: ...


class Source(Protocol):
    """A configured live source; `fetch` returns the day's papers or raises FeedError."""

    name: str

    def fetch(self, day: date) -> ParsedFeed: ...
