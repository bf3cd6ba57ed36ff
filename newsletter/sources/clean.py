"""Entry hygiene for every source, applied between parsing and storing.

Control characters stripped, and an entry with an absurd field (too long, a number out of range) skipped with a
warning that names it, so one bad entry never costs the rest of its feed."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from newsletter.config import IngestSettings
from newsletter.errors import FeedError
from newsletter.models import Paper
from newsletter.sources.base import ParsedFeed
from newsletter.sources.text import squash

# C0 controls but tab/newline/return (whitespace, squashed by the parsers), DEL, C1 controls, the bidi
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069: "\u202egnp.exe" shows as "exe.png", in
# a title as in an author's name), and lone surrogates (JSON's "\ud800" decodes to one; no database can store
# it). NUL is among them. Right-to-left text needs none of them: each letter carries its own direction.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
MAX_COUNT = 2**31 - 1  # upvotes and comments are INTEGER columns
MAX_VERSION = 10_000
MAX_URL = 2000
MAX_CATEGORY = 100


def strip_controls(text: str) -> str:
    return _CONTROLS.sub("", text)


def clean_feed(parsed: ParsedFeed, caps: IngestSettings, where: str) -> ParsedFeed:
    """The feed with every paper cleaned; the ones that cannot be move to `problems`, named by id."""
    problems = list(parsed.problems)

    def keep(papers: tuple[Paper, ...]) -> tuple[Paper, ...]:
        kept = []
        for paper in papers:
            try:
                kept.append(clean_paper(paper, caps))
            except FeedError as exc:
                problems.append(f"{where}: skipped {strip_controls(paper.id)[:40]!r}: {exc}")
        return tuple(kept)

    papers, updates = keep(parsed.papers), keep(parsed.updates)
    return replace(parsed, papers=papers, updates=updates, problems=tuple(problems))


def clean_paper(paper: Paper, caps: IngestSettings) -> Paper:
    """Control characters stripped from every text; FeedError naming the field that is out of bounds."""
    title = _text(paper.title, "title", caps.max_title_chars, "max_title_chars")
    if not title.strip():
        raise FeedError("no title")
    authors = _texts(paper.authors, "an author name", caps.max_author_chars, "max_author_chars")
    if len(authors) > caps.max_authors:
        raise FeedError(f"{len(authors)} authors, more than {caps.max_authors} ('ingest.max_authors')")
    for name, value, cap in (("upvotes", paper.upvotes, MAX_COUNT), ("comments", paper.num_comments, MAX_COUNT)):
        if value is not None and not 0 <= value <= cap:
            raise FeedError(f"{name} out of range: {value}")
    if paper.version is not None and not 1 <= paper.version <= MAX_VERSION:
        raise FeedError(f"version out of range: {paper.version}")
    cleaned: dict[str, Any] = {
        "title": title,
        "abstract": _text(paper.abstract, "abstract", caps.max_abstract_chars, "max_abstract_chars"),
        "authors": authors,
        "categories": _texts(paper.categories, "a category", MAX_CATEGORY),
        "primary_category": _optional(paper.primary_category, "primary category", MAX_CATEGORY),
        "comment": _optional(paper.comment, "comment", caps.max_abstract_chars),
        "ai_summary": _optional(paper.ai_summary, "AI summary", caps.max_abstract_chars),
        "github_url": _link(paper.github_url),
        "project_url": _link(paper.project_url),
    }
    # Almost every paper is clean already: keeping it saves a copy (a bulk import's papers come by 100,000s).
    if all(value == getattr(paper, name) for name, value in cleaned.items()):
        return paper
    return replace(paper, **cleaned)


def _texts(values: tuple[str, ...], field: str, cap: int, setting: str | None = None) -> tuple[str, ...]:
    """Each of many short texts cleaned; one search over all of them when none needs it (authors, categories)."""
    if (
        all(isinstance(v, str) for v in values)
        and _CONTROLS.search("\n".join(values)) is None
        and max(map(len, values), default=0) <= cap
    ):
        return values
    return tuple(_text(v, field, cap, setting) for v in values)


def _text(value: str, field: str, cap: int, setting: str | None = None) -> str:
    if not isinstance(value, str):
        raise FeedError(f"{field} is not text")
    cleaned = value
    # Every parser squashes whitespace already; only a stripped control character between two spaces leaves
    # two. (Looking first costs a third of stripping and squashing every field of a bulk import.)
    if _CONTROLS.search(value) is not None:
        cleaned = squash(strip_controls(value))
    if len(cleaned) > cap:
        named = f" ('ingest.{setting}')" if setting else ""
        raise FeedError(f"{field} longer than {cap} characters{named}")
    return cleaned


def _optional(value: str | None, field: str, cap: int) -> str | None:
    return None if value is None else _text(value, field, cap) or None


def _link(value: str | None) -> str | None:
    """An optional link is dropped (not the paper) unless it is a plain http(s) URL of sane length."""
    if not isinstance(value, str):
        return None
    cleaned = strip_controls(value).strip()
    if len(cleaned) > MAX_URL or not re.match(r"https?://[^\s]+$", cleaned, re.IGNORECASE):
        return None
    return cleaned
