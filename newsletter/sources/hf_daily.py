"""Hugging Face Daily Papers (`/api/daily_papers?date=…`): JSON bytes -> Papers, the paged fetcher, enrichment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from newsletter.config import HfSourceSettings
from newsletter.errors import FeedError
from newsletter.models import Paper, Validators
from newsletter.sources.base import ParsedFeed
from newsletter.sources.clean import MAX_COUNT
from newsletter.sources.fetch import Fetcher
from newsletter.sources.ids import split_arxiv_id
from newsletter.sources.text import json_integer, json_kind, json_text, parse_timestamp, squash

PAGE_SIZE = 100  # the API's maximum `limit`


def _load_json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data, parse_int=json_integer)
    except RecursionError:
        raise FeedError(f"{where}: JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise FeedError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        # A JSON value per line (a JSON-lines file, such as arXiv's metadata snapshot) fails at line 2.
        lines = " (one JSON value per line: JSON lines, not the JSON array of daily papers)" if _lines(data) else ""
        what = exc.msg.removesuffix(" at")  # "Invalid control character at"
        raise FeedError(f"{where}: not valid JSON ({what} at line {exc.lineno}, column {exc.colno}){lines}") from None


def _lines(data: bytes) -> bool:
    """Whether the first two lines are JSON values of their own."""
    first = data.split(b"\n", 2)[:2]
    try:
        return len(first) == 2 and all(json.loads(line) is not None for line in first)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return False


def parse(data: bytes, where: str, day: date | None = None) -> ParsedFeed:
    """Parse a daily_papers answer; entries that cannot be used are reported, not fatal."""
    entries = _load_json(data, where)
    if not isinstance(entries, list):
        raise FeedError(f"{where}: expected a JSON array of daily papers, got {type(entries).__name__}")
    papers: list[Paper] = []
    problems: list[str] = []
    for index, entry in enumerate(entries, start=1):
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("paper", {}), dict):
                raise FeedError("expected an object whose 'paper' is an object")
            papers.append(_paper(entry["paper"], entry, day))
        except (FeedError, KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            problems.append(f"{where}: entry {index}: {_describe(exc)}")
    return ParsedFeed(tuple(papers), tuple(problems))


def parse_paper(data: bytes, where: str) -> Paper:
    """One `/api/papers/{id}` answer (flat: the paper's keys at the top level)."""
    entry = _load_json(data, where)
    try:
        if not isinstance(entry, dict):
            raise FeedError(f"expected a JSON object, got {json_kind(entry)}")
        return _paper(entry, {}, None)
    except (FeedError, KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise FeedError(f"{where}: {_describe(exc)}") from None


def _paper(paper: dict[str, Any], entry: dict[str, Any], day: date | None) -> Paper:
    arxiv_id, version = split_arxiv_id(str(paper["id"]))
    title = _text(paper.get("title") or entry.get("title"), "title")
    if not title:
        raise FeedError("no title")
    featured = _when(paper.get("submittedOnDailyAt"), "submittedOnDailyAt")
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=_text(paper.get("summary") or entry.get("summary"), "summary"),
        authors=_authors(paper.get("authors")),
        published=_when(paper.get("publishedAt"), "publishedAt"),
        announced=featured.date() if featured else day,
        upvotes=_int(paper.get("upvotes"), "upvotes"),
        num_comments=_int(entry.get("numComments", paper.get("numComments")), "numComments"),
        github_url=_optional(paper.get("githubRepo")),
        project_url=_optional(paper.get("projectPage")),
        ai_summary=_optional(paper.get("ai_summary")),
        sources=("hf",),
    )


def _text(value: Any, name: str) -> str:
    return squash(json_text(value, name))


def _when(value: Any, name: str) -> datetime | None:
    try:
        return parse_timestamp(_text(value, name))
    except (ValueError, OverflowError):  # not a date; or one that UTC cannot hold (year 1 at +01:00)
        raise FeedError(f"{name} {value[:40]!r} is not a date and time") from None


def _optional(value: Any) -> str | None:
    """An optional field (a link, the AI summary): left out when it holds anything but text, the paper kept."""
    return squash(value) or None if isinstance(value, str) else None


def _authors(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise FeedError(f"authors is {json_kind(value)}, not an array of objects with a name")
    return tuple(name for a in value if (name := _text(a.get("name"), "an author's name")))


def _int(value: Any, name: str) -> int | None:
    """A count: None when absent or not a number; a FeedError past what a database column holds (`1e999`
    reads as infinity; a negative count is the cleaner's to refuse)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if not abs(value) <= MAX_COUNT:
        shown = str(value) if len(str(value)) <= 20 else f"{str(value)[:20]}…"
        raise FeedError(f"{name} out of range: {shown}")
    return int(value)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    return str(exc)


class HfDailySource:
    """One day's featured papers, page by page; optionally enriched one by one from `/api/papers/{id}`."""

    name = "hf"

    def __init__(self, settings: HfSourceSettings, fetcher: Fetcher | None = None) -> None:
        self.settings = settings
        self.fetcher = fetcher or Fetcher.for_source(settings, accept="application/json")

    def fetch(self, day: date, validators: Validators | None = None) -> ParsedFeed:
        papers: list[Paper] = []
        problems: list[str] = []
        page = 0
        first_validators = None
        while True:
            params: dict[str, str | int] = {"date": day.isoformat(), "limit": PAGE_SIZE, "p": page}
            got = self.fetcher.get(self.settings.url, params, validators if page == 0 else None)
            if got.status == 304:
                return ParsedFeed(not_modified=True, validators=got.validators)
            first_validators = first_validators or got.validators
            parsed = parse(got.body, f"{self.settings.url}?date={day}&p={page}", day)
            papers.extend(parsed.papers)
            problems.extend(parsed.problems)
            if len(parsed.papers) + len(parsed.problems) < PAGE_SIZE:
                break
            page += 1
            if page >= self.settings.max_pages:
                problems.append(
                    f"{self.settings.url}?date={day}: stopped after {page} pages of {PAGE_SIZE} "
                    "('sources.hf.max_pages')"
                )
                break
        if self.settings.enrich:
            papers = [self._enriched(p, problems) for p in papers]
        return ParsedFeed(tuple(papers), tuple(problems), validators=first_validators)

    def _enriched(self, paper: Paper, problems: list[str]) -> Paper:
        url = f"{self.settings.paper_url.rstrip('/')}/{paper.id}"
        try:
            full = parse_paper(self.fetcher.get(url).body, url)
        except FeedError as exc:
            problems.append(str(exc))
            return paper
        return replace(
            paper,
            upvotes=full.upvotes if full.upvotes is not None else paper.upvotes,
            github_url=full.github_url or paper.github_url,
            project_url=full.project_url or paper.project_url,
            ai_summary=full.ai_summary or paper.ai_summary,
        )

    def backfill(self, start: date, end: date) -> Iterator[ParsedFeed]:
        day = start
        while day <= end:
            yield self.fetch(day)
            day += timedelta(days=1)

    def close(self) -> None:
        self.fetcher.close()
