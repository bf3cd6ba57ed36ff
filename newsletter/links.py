"""Every address a reader follows, made in one place for the email and the web pages.

A paper's pages, the site's pages, each reader's signed links and the List-Unsubscribe header; the email (render,
message) and the web pages build them here and nowhere else.

The tokens inside are signed and read back by tokens.py (web links) and verp.py (mail addresses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from newsletter.config import Settings
from newsletter.models import Paper
from newsletter.tokens import Reader, Tokens


def abs_url(paper: Paper) -> str:
    return f"https://arxiv.org/abs/{paper.id}"


def pdf_url(paper: Paper) -> str:
    return f"https://arxiv.org/pdf/{paper.id}"


def hf_url(paper: Paper) -> str | None:
    return f"https://huggingface.co/papers/{paper.id}" if "hf" in paper.sources else None


def safe_url(url: str | None) -> str | None:
    """A link from a feed, kept only if it is plain http(s) (never javascript:, data:, or anything odd)."""
    if not url:
        return None
    url = url.strip()
    return url if re.fullmatch(r"https?://[^\s<>\"']+", url, re.IGNORECASE) else None  # "HTTPS://" too


def day_url(day: date) -> str:
    return f"/?day={day}"


def archive_url(day: date) -> str:
    return f"/archive/{day}"


def search_url(query: str, page: int) -> str:
    return f"/search?{urlencode({'q': query})}&page={page}"


@dataclass(frozen=True)
class Links:
    """One reader's signed links, as the digest shows them."""

    unsubscribe: str
    preferences: str
    feedback: str  # the reader's feedback link, to which a paper's more_like / fewer_like add "/<id>/more"

    def more_like(self, paper_id: str) -> str:
        return f"{self.feedback}/{paper_id}/more"

    def fewer_like(self, paper_id: str) -> str:
        return f"{self.feedback}/{paper_id}/less"


FEEDBACK = {"more": True, "less": False}  # a feedback link's last segment: whether the reader wants more


def reader_path(purpose: str, tokens: Tokens, reader: Reader) -> str:
    """'/<purpose>/<token>': the site's page of this purpose for this reader (tokens.PURPOSES)."""
    return f"/{purpose}/{tokens.make(purpose, reader)}"


def reader_links(settings: Settings, tokens: Tokens, reader: Reader) -> Links:
    base = settings.web.base_url.rstrip("/")
    return Links(
        unsubscribe=base + reader_path("unsubscribe", tokens, reader),
        preferences=base + reader_path("preferences", tokens, reader),
        feedback=base + reader_path("feedback", tokens, reader),
    )


def confirm_link(settings: Settings, tokens: Tokens, reader: Reader) -> str:
    return settings.web.base_url.rstrip("/") + reader_path("confirm", tokens, reader)


def list_unsubscribe(links: Links, unsubscribe_address: str) -> str:
    """The List-Unsubscribe header (RFC 2369): the one-click page first, then the mailto: address."""
    return f"<{links.unsubscribe}>, <mailto:{unsubscribe_address}?subject=unsubscribe>"
