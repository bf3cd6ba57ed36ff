"""Hugging Face Daily Papers (`/api/daily_papers?date=…`): JSON bytes -> Papers, and the paged fetcher."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx

from newsletter.config import HfSourceSettings
from newsletter.errors import FeedError
from newsletter.models import Paper
from newsletter.sources import http
from newsletter.sources.base import ParsedFeed
from newsletter.sources.ids import split_arxiv_id
from newsletter.sources.text import parse_timestamp, squash

PAGE_SIZE = 100  # the API's maximum `limit`


def parse(data: bytes, where: str, day: date | None = None) -> ParsedFeed:
    """Parse a daily_papers answer; entries that cannot be used are reported, not fatal."""
    try:
        entries = json.loads(data)
    except UnicodeDecodeError as exc:
        raise FeedError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FeedError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(entries, list):
        raise FeedError(f"{where}: expected a JSON array of daily papers, got {type(entries).__name__}")
    papers: list[Paper] = []
    problems: list[str] = []
    for index, entry in enumerate(entries, start=1):
        try:
            papers.append(_paper(entry, day))
        except (FeedError, KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{where}: entry {index}: {_describe(exc)}")
    return ParsedFeed(tuple(papers), tuple(problems))


def _paper(entry: dict[str, Any], day: date | None) -> Paper:
    paper = entry["paper"]
    arxiv_id, version = split_arxiv_id(str(paper["id"]))
    title = squash(paper.get("title") or entry.get("title"))
    if not title:
        raise FeedError("no title")
    featured = parse_timestamp(paper.get("submittedOnDailyAt"))
    announced = featured.date() if featured else day
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=squash(paper.get("summary") or entry.get("summary")),
        authors=tuple(squash(a["name"]) for a in paper.get("authors", []) if a.get("name")),
        published=parse_timestamp(paper.get("publishedAt")),
        announced=announced,
        upvotes=_int(paper.get("upvotes")),
        num_comments=_int(entry.get("numComments")),
        github_url=paper.get("githubRepo") or None,
        project_url=paper.get("projectPage") or None,
        ai_summary=squash(paper.get("ai_summary")) or None,
        sources=("hf",),
    )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    return str(exc)


class HfDailySource:
    """Fetches one day's featured papers, page by page."""

    name = "hf"

    def __init__(self, settings: HfSourceSettings, user_agent: str, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(settings.timeout, connect=10.0),
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            follow_redirects=True,
        )

    def fetch(self, day: date) -> ParsedFeed:
        papers: list[Paper] = []
        problems: list[str] = []
        page = 0
        while True:
            params = {"date": day.isoformat(), "limit": PAGE_SIZE, "p": page}
            body = http.get(self.client, self.settings.url, params)
            parsed = parse(body, f"{self.settings.url} (date={day}, p={page})", day)
            papers.extend(parsed.papers)
            problems.extend(parsed.problems)
            if len(parsed.papers) + len(parsed.problems) < PAGE_SIZE:
                return ParsedFeed(tuple(papers), tuple(problems))
            page += 1
