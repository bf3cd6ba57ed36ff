"""Feed sources: a parser per format (for `ingest --file`) and the configured live sources."""

from __future__ import annotations

from newsletter.config import Settings
from newsletter.errors import InputError
from newsletter.sources import hf_daily
from newsletter.sources.base import ParsedFeed, Parser, Source

PARSERS: dict[str, Parser] = {"hf": hf_daily.parse}


def parser_for(fmt: str) -> Parser:
    try:
        return PARSERS[fmt]
    except KeyError:
        raise InputError(f"unknown --format {fmt!r} (known: {', '.join(sorted(PARSERS))})") from None


def configured_sources(settings: Settings, names: tuple[str, ...] = ()) -> list[Source]:
    """The enabled sources, or exactly the named ones (enabled or not)."""
    available: dict[str, Source] = {}
    if settings.sources.hf.enabled or "hf" in names:
        available["hf"] = hf_daily.HfDailySource(settings.sources.hf, settings.sources.arxiv.user_agent)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InputError(f"unknown --source {unknown[0]!r} (known: hf)")
    return [available[n] for n in (names or tuple(available))]


__all__ = ["PARSERS", "ParsedFeed", "Parser", "Source", "configured_sources", "parser_for"]
