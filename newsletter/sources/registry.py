"""Which sources there are: a parser per format (for `ingest --file`) and the configured live sources."""

from __future__ import annotations

from newsletter.config import Settings
from newsletter.errors import InputError
from newsletter.sources import arxiv_api, arxiv_feed, arxiv_metadata, hf_daily
from newsletter.sources.base import Parser, Source

PARSERS: dict[str, Parser] = {
    "hf": hf_daily.parse,
    "arxiv-api": arxiv_api.parse,
    "arxiv-rss": arxiv_feed.parse,
    "arxiv-atom": arxiv_feed.parse,
}
# Every --format of `ingest --file`: the feed parsers, and the bulk snapshot (streamed, background papers).
FORMATS = (*PARSERS, arxiv_metadata.SOURCE)
SOURCE_NAMES = ("hf", "arxiv")


def parser_for(fmt: str) -> Parser:
    try:
        return PARSERS[fmt]
    except KeyError:
        raise InputError(f"unknown --format {fmt!r} (known: {', '.join(FORMATS)})") from None


def configured_sources(settings: Settings, names: tuple[str, ...] = ()) -> list[Source]:
    """The enabled sources, or exactly the named ones (enabled or not)."""
    unknown = [n for n in names if n not in SOURCE_NAMES]
    if unknown:
        raise InputError(f"unknown --source {unknown[0]!r} (known: {', '.join(SOURCE_NAMES)})")
    wanted = names or tuple(
        n for n, on in (("hf", settings.sources.hf.enabled), ("arxiv", settings.sources.arxiv.enabled)) if on
    )
    sources: list[Source] = []
    for name in wanted:
        if name == "hf":
            sources.append(hf_daily.HfDailySource(settings.sources.hf))
        else:
            sources.append(arxiv_feed.ArxivFeedSource(settings.sources.arxiv))
    return sources
