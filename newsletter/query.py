"""Search queries as people type them: words, "exact phrases", -exclusions and OR, parsed once for both databases."""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.errors import InputError

MAX_QUERY = 300
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Query:
    """All of `required` must match (each an OR of phrases, a phrase being one or more words); none of
    `excluded` may."""

    text: str
    required: tuple[tuple[tuple[str, ...], ...], ...]
    excluded: tuple[tuple[str, ...], ...]


def parse(text: str) -> Query:
    """`transformer circuits` needs both words, `"transformer circuits"` the phrase, `-analog` leaves out,
    `a OR b` either. InputError when nothing is left to look for."""
    text = " ".join(text.split())
    if len(text) > MAX_QUERY:
        raise InputError(f"search query is longer than {MAX_QUERY} characters")
    required: list[list[tuple[str, ...]]] = []
    excluded: list[tuple[str, ...]] = []
    join_next = False
    for match in _TOKEN.finditer(text):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare == "OR":
            join_next = bool(required)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        words = tuple(w.lower() for w in _WORD.findall(quoted if bare is None else bare))
        if not words:
            continue
        if negated:
            excluded.append(words)
        elif join_next:
            required[-1].append(words)
        else:
            required.append([words])
        join_next = False
    if not required:
        raise InputError(f"search query {text!r} has nothing to look for (only exclusions or punctuation)")
    return Query(text, tuple(tuple(group) for group in required), tuple(excluded))


def as_preferences(query: Query, limit: int = 5) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A search as a reader's (topics, exclusions), for "email me this search": the words a result must
    have make one topic phrase, each OR a topic of its own (at most `limit`), and every -term an exclusion."""
    topics: list[tuple[str, ...]] = [()]
    for group in query.required:
        topics = [words + phrase for words in topics for phrase in group][:limit]
    return tuple(" ".join(words) for words in topics), tuple(" ".join(words) for words in query.excluded)
