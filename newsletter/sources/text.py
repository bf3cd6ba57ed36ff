"""Small text clean-ups shared by the parsers: collapse whitespace, parse feed timestamps."""

from __future__ import annotations

from datetime import UTC, datetime


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
