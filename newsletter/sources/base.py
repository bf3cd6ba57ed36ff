"""What every source provides: a parser from bytes to papers, and (for live sources) a fetcher."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from newsletter.models import Paper, Validators


@dataclass(frozen=True)
class ParsedFeed:
    """What one feed (or one page of one) yielded.

    `papers` are added or merged; `updates` only refresh papers already stored (arXiv `replace` entries: a
    new version, not a new paper); `problems` has one line per entry that could not be used.
    """

    papers: tuple[Paper, ...] = ()
    problems: tuple[str, ...] = ()
    updates: tuple[Paper, ...] = ()
    not_modified: bool = False
    validators: Validators | None = None
    total: int | None = None

    @property
    def empty(self) -> bool:
        return not (self.papers or self.updates or self.problems)


class Parser(Protocol):
    def __call__(self, data: bytes, where: str, day: date | None = None) -> ParsedFeed: ...


class Source(Protocol):
    """A configured live source; its methods raise FeedError when the source as a whole fails."""

    name: str

    def fetch(self, day: date, validators: Validators | None = None) -> ParsedFeed: ...

    def backfill(self, start: date, end: date) -> Iterator[ParsedFeed]: ...

    def close(self) -> None: ...
