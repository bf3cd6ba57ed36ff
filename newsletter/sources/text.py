"""Small text clean-ups shared by the parsers: collapse whitespace, read JSON text, parse feed timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from newsletter.errors import FeedError


def json_integer(digits: str) -> int | float:
    """A JSON integer (json.loads' parse_int): past Python's limit on digits (4,300) a float, infinite,
    which the field's own check refuses: one entry's absurd number is that entry's error, not a crash of the
    whole document."""
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def json_kind(value: Any) -> str:
    """A JSON value's kind, as the feed's author would say it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    return "an array" if isinstance(value, list) else "text"


def json_text(value: Any, name: str) -> str:
    """A JSON field that must be text ("" when absent); a FeedError naming it when it holds anything else."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FeedError(f"{name} is {json_kind(value)}, not text")
    return value


def squash(text: str | None) -> str:
    """Collapse runs of whitespace (feeds hard-wrap titles and abstracts) and trim."""
    # str.split() splits on exactly what `\s` matches, at a third of a regex's cost (a bulk import squashes
    # millions of fields).
    return " ".join((text or "").split())


def parse_timestamp(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp ('2024-06-17T17:59:59.000Z') as an aware UTC datetime; None if absent."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
