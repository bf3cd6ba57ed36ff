"""Ranking: (a reader's preferences, the candidate papers) -> ranked Picks, each with its "why" as data, and
the parts of each candidate's score for `preview --explain`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.meaning import PhraseProfile
from newsletter.models import Paper, Pick, Subscriber, Why
from newsletter.selection.index import Index
from newsletter.selection.scoring import (
    DEFAULT_FLOOR,
    OTHER_TOPICS_SHARE,
    AlreadySent,
    Cache,
    Scored,
    score_reader,
    scored_topic,
    unwanted,
)
from newsletter.selection.topics import TopicScores
from newsletter.trending import why_trending


@dataclass(frozen=True)
class Explained:
    """The parts of one candidate's score for one reader (`preview --explain`)."""

    paper: Paper
    score: float
    topic: str
    lexical: float
    background: float
    categories: float
    feedback: float
    excluded: bool
    already_sent: bool
    picked: bool
    why: Why | None


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
    if not index.docs:
        return []
    prefs = subscriber.preferences
    cache_: Cache = topic_scores if topic_scores is not None else {}
    # Readers with the same preferences and nothing of their own yet (no paper sent, no feedback) get the
    # same picks: computed once per issue.
    shared_key = None
    if not already_sent and not liked and not disliked:
        shared_key = (
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
        if shared_key in cache_:
            shared = cache_[shared_key]
            assert isinstance(shared, list)
            return shared
    picks = _rank(subscriber, index, already_sent, floor, cache_, profiles or {}, liked, disliked)
    if shared_key is not None:
        cache_[shared_key] = picks
    return picks


def _rank(
    subscriber: Subscriber,
    index: Index,
    already_sent: AlreadySent,
    floor: float,
    cache_: Cache,
    profiles: Mapping[str, PhraseProfile],
    liked: Sequence[Paper],
    disliked: Sequence[Paper],
) -> list[Pick]:
    prefs = subscriber.preferences
    if not (prefs.topics or prefs.authors or prefs.categories or liked):
        blocked = score_reader(subscriber, index, already_sent, floor, cache_, profiles, (), ()).blocked
        return _trending(index, blocked, subscriber.max_items, section=False)
    if prefs.topics and not (prefs.categories or prefs.authors or liked or disliked):
        topics = [scored_topic(index, t, cache_, profiles) for t in prefs.topics]
        sent, excluded, revised = unwanted(prefs, index, already_sent, cache_)
        blocked = sent | excluded
        threshold = subscriber.min_score if subscriber.min_score is not None else floor
        short = _shortlisted(topics, index, blocked, threshold, subscriber.max_items)
        if short is not None:
            chosen, scores, which = short
            picks = [
                topics[t].pick(index, i, min(s, 1.0), i in revised)
                for i, s, t in zip(chosen, scores, which, strict=True)
            ]
            return picks + _trending_section(subscriber, index, blocked, chosen)
    scored = score_reader(subscriber, index, already_sent, floor, cache_, profiles, liked, disliked)
    chosen = _chosen(scored, subscriber.max_items, index)
    picks = [
        Pick(index.docs[i].paper, min(float(scored.score[i]), 1.0), _why(scored, index, i), updated=i in scored.revised)
        for i in chosen
    ]
    return picks + _trending_section(subscriber, index, scored.blocked, chosen)


def _trending_section(subscriber: Subscriber, index: Index, blocked: np.ndarray, chosen: list[int]) -> list[Pick]:
    if not subscriber.trending_items:
        return []
    blocked = blocked.copy()
    blocked[chosen] = True  # the section never repeats the reader's own picks
    return _trending(index, blocked, subscriber.trending_items, section=True)


def _shortlisted(
    topics: list[TopicScores], index: Index, blocked: np.ndarray, threshold: float, k: int
) -> tuple[list[int], list[float], list[int]] | None:
    """The best k (ids, scores, the topic each matches best) among the union of the topics' shortlists, or
    None when a paper outside them could still make it (then every paper is scored). Exact: the combined
    score only grows with each topic's."""
    shortlists = [t.shortlist() for t in topics]
    if len(topics) == 1:
        candidates = shortlists[0][0]
        best = score = topics[0].scores[candidates]
    else:
        listed = np.zeros(len(index.docs), dtype=bool)
        for top, _ in shortlists:
            listed[top] = True
        candidates = np.flatnonzero(listed)
        table = np.array([t.scores[candidates] for t in topics])
        best = table.max(axis=0)
        score = best + OTHER_TOPICS_SHARE * (table.sum(axis=0) - best)
    open_ = (best >= threshold) & ~blocked[candidates]
    ids, scores = candidates[open_], score[open_]
    order = np.lexsort((-index.upvotes[ids], -scores))[:k]
    bounds = [bound for _, bound in shortlists]
    if min(bounds) > -np.inf:
        highest = max(bounds)
        outside = highest + OTHER_TOPICS_SHARE * (sum(bounds) - highest)
        full = len(order) == k and scores[order[-1]] > outside
        if not (full or (len(order) < k and highest < threshold)):
            return None
    chosen = ids[order]
    which = np.array([t.scores[chosen] for t in topics]).argmax(axis=0)
    return chosen.tolist(), scores[order].tolist(), which.tolist()


def _chosen(scored: Scored, k: int, index: Index) -> list[int]:
    open_ = scored.eligible & ~scored.blocked
    score = np.where(open_, scored.score, -np.inf)
    if int(open_.sum()) > k:
        # Only the best k (and any tied with the k-th) need the full ordering.
        kth = -np.partition(-score, k - 1)[k - 1]
        chosen = np.flatnonzero(score >= kth)
    else:
        chosen = np.flatnonzero(open_)
    return [int(i) for i in chosen[np.lexsort((-index.upvotes[chosen], -score[chosen]))][:k]]


def _why(scored: Scored, index: Index, i: int) -> Why:
    reason = scored.reasons.get(i)
    if reason is not None:
        return reason
    topic = scored.topic(i)
    assert topic is not None, "a paper is eligible by a topic or has a reason of its own"
    return topic.why(index, i)


def explain(
    subscriber: Subscriber,
    index: Index,
    already_sent: AlreadySent = frozenset(),
    floor: float = DEFAULT_FLOOR,
    liked: Sequence[Paper] = (),
    disliked: Sequence[Paper] = (),
    profiles: Mapping[str, PhraseProfile] | None = None,
    top: int = 15,
) -> list[Explained]:
    """The `top` best candidates for this reader, picked or not, with the parts of their scores."""
    if not index.docs:
        return []
    scored = score_reader(subscriber, index, already_sent, floor, {}, profiles or {}, liked, disliked)
    picked = set(_chosen(scored, subscriber.max_items, index))
    order = [int(i) for i in np.lexsort((-index.upvotes, -scored.score))][:top]
    rows = []
    for i in order:
        topic = scored.topic(i)
        rows.append(
            Explained(
                index.docs[i].paper,
                float(scored.score[i]),
                topic.topic if topic else "",
                float(topic.lexical[i]) if topic else 0.0,
                float(topic.background[i]) if topic else 0.0,
                float(topic.categories[i]) if topic else 0.0,
                float(scored.feedback[i]),
                bool(scored.excluded[i]),
                bool(scored.sent[i]),
                i in picked,
                _why(scored, index, i) if (topic or i in scored.reasons) else None,
            )
        )
    return rows


def _trending(index: Index, blocked: np.ndarray, k: int, section: bool) -> list[Pick]:
    """The k papers with the best trending score (votes with a time decay) that are not blocked."""
    order = [int(i) for i in np.argsort(-index.trending, kind="stable") if not blocked[i]][:k]
    return [Pick(index.docs[i].paper, 0.0, why_trending(index.docs[i].paper), trending=section) for i in order]
