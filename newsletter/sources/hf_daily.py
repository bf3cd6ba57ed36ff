"""Hugging Face Daily Papers (`/api/daily_papers?date=…`): JSON bytes -> Papers, the paged fetcher, enrichment."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from newsletter.config import HfSourceSettings
from newsletter.errors import FeedError
from newsletter.models import Paper, Validators
from newsletter.sources.base import ParsedFeed
from newsletter.sources.fetch import Fetcher
from newsletter.sources.ids import split_arxiv_id
from newsletter.sources.text import parse_timestamp, squash

PAGE_SIZE = 100  # the API's maximum `limit`


def _load_json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise FeedError(f"{where}: JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise FeedError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FeedError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None


def parse(data: bytes, where: str, day: date | None = None) -> ParsedFeed:
    """Parse a daily_papers answer; entries that cannot be used are reported, not fatal."""
    entries = _load_json(data, where)
    if not isinstance(entries, list):
        raise FeedError(f"{where}: expected a JSON array of daily papers, got {type(entries).__name__}")
    papers: list[Paper] = []
    problems: list[str] = []
    for index, entry in enumerate(entries, start=1):
        try:
            papers.append(_paper(entry["paper"], entry, day))
        except (FeedError, KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            problems.append(f"{where}: entry {index}: {_describe(exc)}")
    return ParsedFeed(tuple(papers), tuple(problems))


def parse_paper(data: bytes, where: str) -> Paper:
    """One `/api/papers/{id}` answer (flat: the paper's keys at the top level)."""
    entry = _load_json(data, where)
    try:
        return _paper(entry, {}, None)
    except (FeedError, KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise FeedError(f"{where}: {_describe(exc)}") from None


def _paper(paper: dict[str, Any], entry: dict[str, Any], day: date | None) -> Paper:
    arxiv_id, version = split_arxiv_id(str(paper["id"]))
    title = squash(paper.get("title") or entry.get("title"))
    if not title:
        raise FeedError("no title")
    featured = parse_timestamp(paper.get("submittedOnDailyAt"))
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=squash(paper.get("summary") or entry.get("summary")),
        authors=tuple(squash(a["name"]) for a in paper.get("authors", []) if a.get("name")),
        published=parse_timestamp(paper.get("publishedAt")),
        announced=featured.date() if featured else day,
        upvotes=_int(paper.get("upvotes"), "upvotes"),
        num_comments=_int(entry.get("numComments", paper.get("numComments")), "numComments"),
        github_url=paper.get("githubRepo") or None,
        project_url=paper.get("projectPage") or None,
        ai_summary=squash(paper.get("ai_summary")) or None,
        sources=("hf",),
    )


def _int(value: Any, name: str) -> int | None:
    """A count: None when absent or not a number; a FeedError when not finite (`1e999` reads as infinity)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise FeedError(f"{name} out of range: {value}")
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
