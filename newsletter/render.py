"""Digest -> subject, HTML (CSS inlined with premailer) and plain text; no I/O beyond reading templates."""

from __future__ import annotations

import logging
import os
import re
import textwrap
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import escape

from newsletter.config import Settings
from newsletter.inlining import inline_css, preinline_cached
from newsletter.links import Links
from newsletter.models import Digest
from newsletter.paper_views import announced_before, format_day, pick_views, window_label
from newsletter.wordbreak import breakable, linked

log = logging.getLogger(__name__)

TEXT_WIDTH = 78


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def _topics_label(digest: Digest) -> str:
    prefs = digest.subscriber.preferences
    named = prefs.topics or prefs.categories or prefs.authors
    if not named:
        return "trending research"
    label = ", ".join(named[:2])
    return label + (" and more" if len(named) > 2 else "")


@dataclass(frozen=True)
class Notice:
    """A one-off mail to one reader (a sign-up confirmation): a heading, a few lines, one link."""

    subject: str
    heading: str
    lines: tuple[str, ...]
    action: str
    url: str
    footnote: str


def _quiet_note(digest: Digest) -> str:
    """'arXiv did not announce on Monday' for a holiday inside the window, so a short issue reads as such."""
    if not digest.quiet_days:
        return ""
    week = (digest.window_end - digest.window_start).days < 7
    names = [f"{d:%A}" if week else format_day(d) for d in digest.quiet_days]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"arXiv did not announce on {listed}"


# Stand-ins for what differs between readers who share a digest: NUL never occurs in rendered feed text.
_NONCE = os.urandom(6).hex()
_SLOT = re.compile(f"\x00{_NONCE}:(name|unsubscribe|preferences|feedback)\x00")
SHARED_RENDERS = 256  # distinct digests kept rendered (about 40 KB each)
# Gmail clips an HTML part past about 102 KB, footer (unsubscribe, postal address) and all: the papers that
# would go past this are listed by title only.
HTML_BUDGET = 96_000


def _stand_in(slot: str) -> str:
    return f"\x00{_NONCE}:{slot}\x00"


_STAND_IN_LINKS = Links(_stand_in("unsubscribe"), _stand_in("preferences"), _stand_in("feedback"))


def _fill(parts: list[str], values: dict[str, str]) -> str:
    """Text, slot, text, slot, … text (as re.split gives them) joined with each slot's value."""
    return "".join(values[part] if i % 2 else part for i, part in enumerate(parts))


class Renderer:
    """Jinja2 templates loaded once; one render per distinct digest."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        templates = Path(settings.paths.templates)
        self.env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["wrap"] = _wrap
        self.env.filters["breakable"] = breakable
        self.env.filters["linked"] = linked
        self.css = (templates / "email" / "digest.css").read_text(encoding="utf-8")
        self.inlined_template = self.env.from_string(
            preinline_cached(
                self.env, "email/digest.html.j2", self.css, Path(settings.paths.cache), settings.web.secret_key
            )
        )
        self.text_template = self.env.get_template("email/digest.txt.j2")
        self._shared: dict[tuple[object, ...], tuple[str, list[str], list[str]]] = {}

    @cached_property
    def html_template(self) -> Template:
        """The template before inlining: only the reference render needs it compiled (not a send)."""
        return self.env.get_template("email/digest.html.j2")

    def subject(self, digest: Digest) -> str:
        count = sum(not p.trending for p in digest.picks)
        topics = _topics_label(digest)
        if not count and digest.picks:  # only the trending section: "0 new papers on analog circuits" it is not
            count, topics = len(digest.picks), "trending research"
        return self.settings.digest.subject.format(
            count=count,
            papers="paper" if count == 1 else "papers",
            topics=topics,
            date=format_day(digest.issue_date),
        )

    def context(self, digest: Digest, links: Links, name: str | None = None) -> dict[str, Any]:
        """What both templates see (`name` stands in for the reader's name when given)."""
        views = pick_views(digest.picks, since=digest.window_start)
        papers = [v for v, pick in zip(views, digest.picks, strict=True) if not pick.trending]
        trending = [v for v, pick in zip(views, digest.picks, strict=True) if pick.trending]
        return {
            "subject": self.subject(digest),
            "issue_date": format_day(digest.issue_date),
            "window": window_label(digest.window_start, digest.window_end),
            # Papers announced before the window are in by a new version (each says when it was announced).
            "arrived": "announced or updated"
            if any(announced_before(p.paper, digest.window_start) for p in digest.picks)
            else "announced",
            "quiet": _quiet_note(digest),
            "papers": papers,
            "trending": trending,
            "count": len(papers),
            "candidates": digest.candidates,
            "name": digest.subscriber.name if name is None else name,
            "topics": digest.subscriber.preferences.topics,
            "links": links,
            "sender": self.settings.sender,
            "css": self.css,
            "preheader": "; ".join(p.title for p in papers[:3]),
            "full": len(views),  # shown whole; the rest by title
        }

    def render(self, digest: Digest, links: Links) -> Rendered:
        """Subject, HTML and text of one digest; the HTML template's CSS was inlined once, at load.

        Readers with the same picks (the same topics, nothing of their own yet) get the same email but for
        their name and link tokens: it is rendered once with stand-ins, kept split at them, and each reader's
        copy is joined with their own values, escaped as the template would (the result is identical to a
        render of their own, tested)."""
        prefs = digest.subscriber.preferences
        key = (
            digest.issue_date,
            digest.picks,
            digest.window_start,
            digest.window_end,
            digest.candidates,
            digest.quiet_days,
            prefs.topics,
            prefs.categories,
            prefs.authors,
            bool(digest.subscriber.name),  # the footer says "as NAME" only when there is one
        )
        values = {
            "name": digest.subscriber.name,
            "unsubscribe": links.unsubscribe,
            "preferences": links.preferences,
            "feedback": links.feedback,
        }
        escaped = {slot: str(escape(value)) for slot, value in values.items()}
        escaped["name"] = str(breakable(digest.subscriber.name))  # as `name|breakable` in the template
        shared = self._shared.get(key)
        if shared is None:
            context = self.context(digest, _STAND_IN_LINKS, name=_stand_in("name") if digest.subscriber.name else "")
            shared = (
                context["subject"],
                self._fitting(context, escaped),
                _SLOT.split(self.text_template.render(context)),
            )
            if len(self._shared) >= SHARED_RENDERS:
                self._shared.pop(next(iter(self._shared)))  # the oldest: readers come grouped by issue
            self._shared[key] = shared
        subject, html_parts, text_parts = shared
        return Rendered(subject=subject, html=_fill(html_parts, escaped), text=_fill(text_parts, values))

    def _fitting(self, context: dict[str, Any], escaped: dict[str, str]) -> list[str]:
        """The HTML, split at the stand-ins, with as many papers shown whole as fit HTML_BUDGET once filled in
        (readers who share it differ by a few bytes of name and tokens); the rest by title."""

        def split(full: int) -> list[str]:
            return _SLOT.split(self.inlined_template.render({**context, "full": full}))

        def size(parts: list[str]) -> int:
            return len(_fill(parts, escaped).encode())

        parts = split(context["full"])
        if size(parts) <= HTML_BUDGET:
            return parts
        low, high = 0, context["full"] - 1  # the most shown whole that fit lies in low..high
        best: list[str] | None = None  # the render of `low`, once one fits
        while low < high:
            middle = (low + high + 1) // 2
            tried = split(middle)
            if size(tried) <= HTML_BUDGET:
                low, best = middle, tried
            else:
                high = middle - 1
        return best if best is not None else split(0)  # by title alone, should even that not fit

    def render_notice(self, notice: Notice) -> Rendered:
        """A notice is rare, so its email is inlined as it is rendered."""
        context = {**asdict(notice), "sender": self.settings.sender, "css": self.css}
        return Rendered(
            subject=notice.subject,
            html=inline_css(self.env.get_template("email/notice.html.j2").render(context)),
            text=self.env.get_template("email/notice.txt.j2").render(context),
        )

    def render_inlining_each(self, digest: Digest, links: Links) -> str:
        """The reference the pre-inlined template must match: render, then inline this one email."""
        return inline_css(self.html_template.render(self.context(digest, links)))


@lru_cache(maxsize=262144)
def _wrap(text: str, indent: str = "", hang: str | None = None) -> str:
    """Lines of at most TEXT_WIDTH, each after `indent`, but the first when `hang` is given ("1. A title"
    whose next lines start under its first word)."""
    return "\n".join(
        textwrap.wrap(
            text,
            width=TEXT_WIDTH,
            initial_indent=indent if hang is None else "",
            subsequent_indent=indent if hang is None else hang,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )
