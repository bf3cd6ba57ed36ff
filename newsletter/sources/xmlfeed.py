"""Strict loading of RSS/Atom bytes with feedparser: malformed XML is an error with its line, never half-read."""

from __future__ import annotations

import re
import xml.sax

import feedparser

from newsletter.errors import FeedError

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
UTF8 = {"utf-8", "utf8"}


def load(data: bytes, where: str) -> tuple[feedparser.FeedParserDict, list[str]]:
    """The parsed feed and what was wrong with it short of an error; a FeedError when it is not well-formed
    (with line and column) or not a feed at all."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    problems: list[str] = []
    if isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride) and _utf8(data):
        # A byte that is not UTF-8 in a UTF-8 feed made feedparser read the whole document in another encoding,
        # garbling every accented letter of every entry: read as UTF-8, that byte alone shows as U+FFFD.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{where}: byte {exc.start} is not UTF-8 ({exc.reason}): shown as '\ufffd'")
            repaired = data.decode("utf-8", "replace").encode("utf-8")
            parsed = feedparser.parse(repaired, sanitize_html=False, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException):
        raise FeedError(
            f"{where}: not well-formed XML ({problem.getMessage()} at line {problem.getLineNumber()}, "
            f"column {problem.getColumnNumber()})"
        )
    if not parsed.get("version"):
        raise FeedError(f"{where}: not an RSS or Atom feed")
    return parsed, problems


def _utf8(data: bytes) -> bool:
    """Whether the document is meant as UTF-8: it says so, or says nothing (XML's default)."""
    declared = _DECLARED.match(data[:200])
    return declared is None or declared.group(1).decode().lower() in UTF8
