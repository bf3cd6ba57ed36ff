"""arXiv identifiers: the bare id (`2406.11944`, `hep-th/9901001`) and the version kept apart."""

from __future__ import annotations

import re

from newsletter.errors import FeedError

_ID = re.compile(
    r"^(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/|oai:arxiv\.org:)?"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?(?:\.pdf)?$",
    re.IGNORECASE | re.ASCII,  # "２６１１.００００１" is not an id: \d would take any script's digits
)


def split_arxiv_id(raw: str) -> tuple[str, int | None]:
    """('2406.11944', 3) from '2406.11944v3', 'arXiv:2406.11944v3' or an abs/pdf URL."""
    match = _ID.match(raw.strip())
    if match is None:
        raise FeedError(f"not an arXiv id: {raw!r}")
    version = match.group("v")
    return match.group("id"), int(version) if version else None
