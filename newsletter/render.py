"""Digest -> subject, HTML (CSS inlined with premailer) and plain text; no I/O beyond reading templates."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import textwrap
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import escape

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Digest
from newsletter.paper_views import format_day, pick_views, window_label
from newsletter.wordbreak import breakable

log = logging.getLogger(__name__)

CSS_SLOT = "{{ css|safe }}"
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
        views = pick_views(digest.picks)
        papers = [v for v, pick in zip(views, digest.picks, strict=True) if not pick.trending]
        trending = [v for v, pick in zip(views, digest.picks, strict=True) if pick.trending]
        return {
            "subject": self.subject(digest),
            "issue_date": format_day(digest.issue_date),
            "window": window_label(digest.window_start, digest.window_end),
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


_PREINLINED: dict[str, str] = {}


def preinline_cached(env: Environment, name: str, css: str, cache_dir: Path, secret: str) -> str:
    """`preinline`, made once per template, stylesheet and premailer version: kept for this process and
    in `cache_dir` for the next ones (a missing or read-only folder only costs the time).

    The cached file is compiled as Jinja, so whoever could change it would run code here: the folder is
    private (0700) and the file carries a seal, an HMAC of its text keyed with `secret` and the hash of its
    sources; a file whose seal does not match is ignored and made again."""
    assert env.loader is not None
    source = env.loader.get_source(env, name)[0]
    key = hashlib.sha256("\0".join((version("premailer"), name, source, css)).encode()).hexdigest()[:32]
    if key in _PREINLINED:
        return _PREINLINED[key]
    # Named for the key that seals it too: several configs sharing one cache folder keep a file each instead
    # of taking each other's for tampering.
    signer = hmac.new(secret.encode(), b"template cache", hashlib.sha256).hexdigest()[:12]
    path = cache_dir / f"preinlined-{key}-{signer}.html.j2"
    inlined = _read_sealed(path, secret, key) if _private_folder(cache_dir) else None
    if inlined is None:
        inlined = preinline(env, name, css)
        try:
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(f"{_seal(secret, key, inlined)}\n{inlined}", encoding="utf-8")
            partial.replace(path)  # atomic: a concurrent reader sees all of it or nothing
        except OSError as exc:
            log.debug("template cache %s not written: %s", cache_dir, exc)
    _PREINLINED[key] = inlined
    return inlined


def _seal(secret: str, key: str, text: str) -> str:
    return hmac.new(f"{secret}\0{key}".encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def _read_sealed(path: Path, secret: str, key: str) -> str | None:
    """The cached text if its seal matches, else None (missing, unreadable, or changed by someone)."""
    try:
        seal, _, text = path.read_text(encoding="utf-8").partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if hmac.compare_digest(seal.encode(), _seal(secret, key, text).encode()):
        return text
    log.warning("template cache %s does not match its seal: made again", path)
    return None


def _private_folder(folder: Path) -> bool:
    """Make the cache folder (0700) or tighten one of ours; False when it is not ours or cannot be made."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
        if info.st_uid != os.getuid():
            log.warning("template cache %s belongs to someone else: not used", folder)
            return False
        if info.st_mode & 0o077:
            folder.chmod(0o700)
    except OSError as exc:
        log.debug("template cache %s not usable: %s", folder, exc)
        return False
    return True


def preinline(env: Environment, name: str, css: str) -> str:
    """The template's source with its stylesheet inlined once, so no email pays for premailer.

    Jinja statements are wrapped in HTML comments so the HTML parser leaves them in place (a bare
    `{% for %}` between table rows would be moved), then unwrapped; URL-escaped `{{ }}` in attributes are
    restored. This holds because the template switches whole elements, never classes, and uses no
    position-dependent selectors: the inlined result equals inlining each rendered email (tested).
    """
    assert env.loader is not None
    source = env.loader.get_source(env, name)[0]
    if CSS_SLOT not in source:
        raise ValueError(f"template {name} has no {CSS_SLOT} for its stylesheet")
    source = source.replace(CSS_SLOT, css)
    source = re.sub(r"\{%.*?%\}", lambda m: f"<!--{m.group(0)}-->", source, flags=re.S)
    inlined = inline_css(source)
    inlined = re.sub(r"<!--(\{%.*?%\})-->", r"\1", inlined, flags=re.S)
    return re.sub(r"\{\{(.*?)\}\}", lambda m: "{{" + unquote(m.group(1)) + "}}", inlined)


def inline_css(html: str) -> str:
    """Inline the stylesheet (no network); @media and dark-mode rules stay in one <style>."""
    # Imported here: premailer (with lxml and cssutils) is a fifth of a command's start-up, and a send whose
    # inlined template is cached never calls it.
    from premailer import Premailer

    inlined: str = Premailer(
        html,
        allow_network=False,
        keep_style_tags=False,
        disable_leftover_css=False,
        remove_classes=False,
        strip_important=False,
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)
    return inlined


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
