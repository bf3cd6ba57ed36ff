"""How a paper is shown, the same in the digest and on the web pages.

Title with the matched words, authors shortened, a snippet, its links, the "why" and the dates, prepared as
PaperViews for the templates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from newsletter import links
from newsletter.latex import readable
from newsletter.models import Paper, Pick, Why
from newsletter.trending import trending_score

SNIPPET_TARGET = 350


@dataclass(frozen=True)
class PaperView:
    """What the templates show of one pick."""

    rank: int
    id: str
    title: str
    authors: str
    snippet: str
    why: Why
    title_parts: tuple[tuple[str, bool], ...]  # the title in pieces, True where a word of the topic matched
    categories: str
    upvotes: int | None
    updated_label: str | None
    abs_url: str
    pdf_url: str
    hf_url: str | None
    code_url: str | None


# Paper-level text (snippets, author lists, wrapped lines) is the same for every reader of an issue:
# computed once, then served from these caches for the rest of the run.
@lru_cache(maxsize=65536)
def shorten_authors(authors: tuple[str, ...], keep: int = 3) -> str:
    """'A, B, C, …, Z' for long lists; everyone for short ones."""
    if len(authors) <= keep + 1:
        return ", ".join(authors)
    return ", ".join(authors[:keep]) + ", …, " + authors[-1]


@lru_cache(maxsize=65536)
def snippet(abstract: str, target: int = SNIPPET_TARGET) -> str:
    """The abstract cut at a sentence end near `target` characters (at a word, with an ellipsis, if none)."""
    text = re.sub(r"\s+", " ", abstract).strip()
    if len(text) <= target + 50:
        return text
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", text) if target * 0.6 <= m.end() <= target + 50]
    if ends:
        return text[: min(ends, key=lambda e: abs(e - target))]
    cut = text.rfind(" ", 0, target)
    return text[: cut if cut > 0 else target].rstrip(",;:") + " …"


def format_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def window_label(start: date, end: date) -> str:
    """'Mon 3 Nov 2025' for one day, 'Sat 1 Nov 2025 – Mon 3 Nov 2025' for a span."""
    return format_day(end) if start == end else f"{format_day(start)} – {format_day(end)}"


@lru_cache(maxsize=65536)
def title_parts(title: str, words: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """The title cut around the words that matched the reader's topic (compared without case), so the
    templates can make them stand out; the pieces join back to the title."""
    wanted = {w.lower() for w in words}
    parts: list[tuple[str, bool]] = []
    for piece in re.split(r"([A-Za-z0-9]+)", title):
        hit = piece.lower() in wanted
        if parts and not hit and not parts[-1][1]:
            parts[-1] = (parts[-1][0] + piece, False)
        elif piece:
            parts.append((piece, hit))
    return tuple(parts)


def paper_view(rank: int, pick: Pick, since: date | None = None) -> PaperView:
    """A pick as the templates show it; a paper announced before `since` (the digest's window: it is in by a
    new version) says when it was first announced."""
    p = pick.paper
    title = readable(p.title)
    return PaperView(
        rank=rank,
        id=p.id,
        title=title,
        authors=shorten_authors(p.authors),
        snippet=snippet(readable(p.abstract)),
        why=pick.why,
        title_parts=title_parts(title, pick.why.words),
        categories=", ".join(p.categories),
        upvotes=p.upvotes,
        updated_label=_version_label(pick, since),
        abs_url=links.abs_url(p),
        pdf_url=links.pdf_url(p),
        hf_url=links.hf_url(p),
        code_url=links.safe_url(p.github_url),
    )


def announced_before(paper: Paper, since: date | None) -> bool:
    """Whether the paper was first announced before `since` (a digest's window: it is in by a new version)."""
    return since is not None and paper.announced is not None and paper.announced < since


def _version_label(pick: Pick, since: date | None) -> str | None:
    p = pick.paper
    if pick.updated and p.version:  # the reader had an earlier version
        return f"updated (v{p.version})"
    if announced_before(p, since):
        assert p.announced is not None
        return f"{f'v{p.version}, ' if p.version else ''}first announced {format_day(p.announced)}"
    return None


def pick_views(picks: Iterable[Pick], since: date | None = None) -> list[PaperView]:
    """The picks of a digest (or its preview), ranked from 1 in the order given (`since`: paper_view)."""
    return [paper_view(rank, pick, since) for rank, pick in enumerate(picks, start=1)]


def listed_views(papers: Iterable[Paper]) -> list[PaperView]:
    """Papers listed without a reader (the daily page, search, a feedback page): no reason to show."""
    return pick_views(Pick(p, 0.0, Why("note")) for p in papers)


def paper_record(paper: Paper, relevance: float | None = None) -> dict[str, object]:
    """A stored paper as `papers list --json` and `papers search --json` give it (relevance: a search's)."""
    record: dict[str, object] = {
        "id": paper.id,
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "published": paper.published,
        "announced": paper.announced,
        "upvotes": paper.upvotes,
        "trending": trending_score(paper),
        "url": links.abs_url(paper),
    }
    if relevance is not None:
        record["relevance"] = round(relevance, 4)
    return record
