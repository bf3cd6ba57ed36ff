"""Ranking: a reader's preferences and the candidates -> ranked Picks, each with its "why" as data.

Readers of topics alone (most) are ranked together, from their topics' shortlists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.meaning import PhraseProfile
from newsletter.models import Paper, Pick, Subscriber
from newsletter.selection.choosing import picked, why_of
from newsletter.selection.index import Index
from newsletter.selection.leaders import combined, topics_lead
from newsletter.selection.scoring import (
    DEFAULT_FLOOR,
    AlreadySent,
    Cache,
    reader_threshold,
    score_reader,
    scored_topic,
    unwanted,
)
from newsletter.selection.shortlists import best_many
from newsletter.selection.topics import SHORTLIST
from newsletter.trending import why_trending


@dataclass(frozen=True)
class Reader:
    """One reader to rank: their subscription and what is theirs alone (see rank())."""

    subscriber: Subscriber
    already_sent: AlreadySent = frozenset()
    liked: Sequence[Paper] = ()
    disliked: Sequence[Paper] = ()


def rank(
    subscriber: Subscriber,
    index: Index,
    already_sent: AlreadySent = frozenset(),
    floor: float = DEFAULT_FLOOR,
    topic_scores: Cache | None = None,
    liked: Sequence[Paper] = (),
    disliked: Sequence[Paper] = (),
    profiles: Mapping[str, PhraseProfile] | None = None,
) -> list[Pick]:
    """The reader's picks among the indexed papers, best first, at most `max_items`.

    `already_sent` maps each paper the reader already got to the version sent: it never comes back, except
    once as a newer version, marked updated. `topic_scores` caches scored phrases across readers: readers
    who share a topic share its cost, and the per-reader work is a few vector operations. `profiles` says
    what each phrase means in the background (PhraseProfile by phrase; a phrase without one is scored on
    its words alone). `liked` and `disliked` are the papers of the reader's feedback.
    """
    reader = Reader(subscriber, already_sent, liked, disliked)
    return rank_many([reader], index, floor, topic_scores, profiles)[0]


def rank_many(
    readers: Sequence[Reader],
    index: Index,
    floor: float = DEFAULT_FLOOR,
    topic_scores: Cache | None = None,
    profiles: Mapping[str, PhraseProfile] | None = None,
) -> list[list[Pick]]:
    """Each reader's picks, as rank() gives them; readers of topics alone (most) are ranked together, from
    their topics' shortlists. Readers with the same preferences and nothing of their own yet (no paper sent,
    no feedback) get the same picks, computed once per issue."""
    if not index.docs:
        return [[] for _ in readers]
    cache_: Cache = topic_scores if topic_scores is not None else {}
    profiles = profiles or {}
    picks: list[list[Pick] | None] = [None] * len(readers)
    keys = [_shared_key(reader, floor) for reader in readers]
    together: defaultdict[int, list[int]] = defaultdict(list)  # readers of topics alone, by number of topics
    first: dict[tuple[object, ...], int] = {}  # the first of alike readers in this batch, who is ranked for all
    for n, (reader, key) in enumerate(zip(readers, keys, strict=True)):
        shared = cache_.get(key) if key is not None else None
        prefs = reader.subscriber.preferences
        if isinstance(shared, list):
            picks[n] = shared
        elif key is not None and first.setdefault(key, n) != n:
            continue  # an alike reader of this batch: the first one's picks, below
        elif (
            prefs.topics
            and not (prefs.categories or prefs.authors or reader.liked or reader.disliked)
            # Shortlists as long as the issue itself say nothing that scoring every paper would not.
            and len(prefs.topics) * SHORTLIST < len(index.docs)
        ):
            together[len(prefs.topics)].append(n)
        else:
            picks[n] = _scored_picks(reader, index, floor, cache_, profiles)
    for size, group in together.items():
        # A reader of t topics weighs t x t x SHORTLIST scores: so many readers at a time keep that bounded.
        step = max(1, _SCORES_AT_ONCE // (size * size * SHORTLIST))
        for start in range(0, len(group), step):
            part = group[start : start + step]
            ranked = _topic_picks([readers[n] for n in part], index, floor, cache_, profiles)
            for n, mine in zip(part, ranked, strict=True):
                picks[n] = mine
    done: list[list[Pick]] = []
    for key, found in zip(keys, picks, strict=True):
        if found is None:
            assert key is not None
            found = picks[first[key]]
        assert found is not None
        if key is not None:
            # The first of several alike readers of one batch sets the picks that all of them get.
            shared = cache_.setdefault(key, found)
            assert isinstance(shared, list)
            found = shared
        done.append(found)
    return done


_SCORES_AT_ONCE = 2_000_000  # about 50 MB of arrays in best_many


def _shared_key(reader: Reader, floor: float) -> tuple[object, ...] | None:
    if reader.already_sent or reader.liked or reader.disliked:
        return None
    subscriber = reader.subscriber
    prefs = subscriber.preferences
    return (
        "picks",
        prefs.topics,
        prefs.categories,
        prefs.authors,
        prefs.excluded,
        subscriber.max_items,
        subscriber.min_score,
        subscriber.trending_items,
        floor,
    )


def _topic_picks(
    readers: list[Reader], index: Index, floor: float, cache_: Cache, profiles: Mapping[str, PhraseProfile]
) -> list[list[Pick]]:
    """The picks of readers of topics alone, as many topics each, from their topics' shortlists together."""
    rows = [[scored_topic(index, t, cache_, profiles) for t in r.subscriber.preferences.topics] for r in readers]
    masks: list[np.ndarray | None] = []
    blocked: list[set[int]] = []
    revised: list[set[int]] = []
    for reader in readers:
        if reader.already_sent or reader.subscriber.preferences.excluded:
            sent, excluded, newer = unwanted(reader.subscriber.preferences, index, reader.already_sent, cache_)
            mask = sent | excluded
            masks.append(mask)
            blocked.append(set(np.flatnonzero(mask).tolist()))
            revised.append(newer)
        else:  # a new reader who excludes nothing: most of them, and nothing to work out
            masks.append(None)
            blocked.append(_NOTHING)
            revised.append(_NOTHING)
    thresholds = [reader_threshold(r.subscriber, floor) for r in readers]
    found = best_many(rows, index, blocked, thresholds, [r.subscriber.max_items for r in readers])
    picks = []
    for reader, topics, best, mask, off, newer, threshold in zip(
        readers, rows, found, masks, blocked, revised, thresholds, strict=True
    ):
        if best is None:
            picks.append(_scored_picks(reader, index, floor, cache_, profiles))
            continue
        shown = {i: (s, t) for s, i, t in best}
        k = reader.subscriber.max_items
        chosen = topics_lead([i for _, i, _ in best], topics, off.__contains__, threshold, k)
        mine = []
        for i in chosen:
            if i not in shown:  # a topic's best paper, led in past the others' picks
                score, topic = combined(topics, i)
                shown[i] = (min(score, 1.0), topic)
            score, topic = shown[i]
            mine.append(topics[topic].pick(index, i, score, i in newer))
        if reader.subscriber.trending_items:
            mine += _trending_section(reader.subscriber, index, mask, chosen)
        picks.append(mine)
    return picks


_NOTHING: set[int] = set()  # shared: never changed


def _scored_picks(
    reader: Reader, index: Index, floor: float, cache_: Cache, profiles: Mapping[str, PhraseProfile]
) -> list[Pick]:
    """One reader's picks with every paper scored: feedback, categories, authors, or no preferences."""
    subscriber = reader.subscriber
    prefs = subscriber.preferences
    if not (prefs.topics or prefs.authors or prefs.categories or reader.liked):
        # Nothing to score, but a paper the reader asked fewer of stays out of their trending papers too.
        scored = score_reader(subscriber, index, reader.already_sent, floor, cache_, profiles, (), reader.disliked)
        return _trending(index, scored.blocked, subscriber.max_items, section=False)
    scored = score_reader(
        subscriber, index, reader.already_sent, floor, cache_, profiles, reader.liked, reader.disliked
    )
    chosen = picked(scored, subscriber.max_items, index)
    picks = [
        Pick(
            index.docs[i].paper, min(float(scored.score[i]), 1.0), why_of(scored, index, i), updated=i in scored.revised
        )
        for i in chosen
    ]
    return picks + _trending_section(subscriber, index, scored.blocked, chosen)


def _trending_section(
    subscriber: Subscriber, index: Index, blocked: np.ndarray | None, chosen: list[int]
) -> list[Pick]:
    if not subscriber.trending_items:
        return []
    blocked = blocked.copy() if blocked is not None else np.zeros(len(index.docs), dtype=bool)
    blocked[chosen] = True  # the section never repeats the reader's own picks
    return _trending(index, blocked, subscriber.trending_items, section=True)


def _trending(index: Index, blocked: np.ndarray, k: int, section: bool) -> list[Pick]:
    """The k papers with the best trending score (votes with a time decay) that are not blocked."""
    order = [int(i) for i in np.argsort(-index.trending, kind="stable") if not blocked[i]][:k]
    return [Pick(index.docs[i].paper, 0.0, why_trending(index.docs[i].paper), trending=section) for i in order]
