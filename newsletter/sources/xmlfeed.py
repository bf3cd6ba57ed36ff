"""Strict loading of RSS/Atom bytes with feedparser: malformed XML is an error with its line, never half-read."""

from __future__ import annotations

import xml.sax

import feedparser

from newsletter.errors import FeedError


def load(data: bytes, where: str) -> feedparser.FeedParserDict:
    """The parsed feed, or FeedError: not well-formed (with line and column), or not a feed at all."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException):
        raise FeedError(
            f"{where}: not well-formed XML ({problem.getMessage()} at line {problem.getLineNumber()}, "
            f"column {problem.getColumnNumber()})"
        )
    if not parsed.get("version"):
        raise FeedError(f"{where}: not an RSS or Atom feed")
    return parsed
