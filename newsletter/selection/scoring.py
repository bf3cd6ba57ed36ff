"""One reader's scores over an index: topics, categories, authors, feedback, and what is barred.

Their topics combined, categories, followed authors, feedback, and the papers they must not get (already sent,
excluded)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.meaning import PhraseProfile
from newsletter.models import Paper, Pick, Preferences, Subscriber, Why
from newsletter.selection.index import Doc, Index
from newsletter.selection.topics import TopicScores, closeness, score_topic
from newsletter.words import analyse

OTHER_TOPICS_SHARE = 0.25
CATEGORY_BONUS = 0.15
LIKED_WEIGHT = 0.3
LIKED_SIMILARITY = 0.5
DEFAULT_FLOOR = 0.15
# A pick scoring under this share of the reader's best is one shared word (a "circuit" of another field
# padding the digest of a reader whose own papers match whole phrases), not their topic. The tune split
# scores the same with it up to 0.15; 0.2 starts to cost.
RELATIVE_FLOOR = 0.1

_WORD = re.compile(r"[a-z0-9]+")


def _author_key(name: str) -> str:
    return " ".join(_WORD.findall(name.lower()))


def _contains(seq: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n > 0 and any(tuple(seq[i : i + n]) == tuple(part) for i in range(len(seq) - n + 1))


def _is_excluded(doc: Doc, phrase: tuple[str, ...]) -> bool:
    return _contains([s for s, _ in doc.title], phrase) or _contains([s for s, _ in doc.abstract], phrase)


@dataclass
class Scored:
    """One reader's scores over an index, before the cut: shared by rank() and explain()."""

    score: np.ndarray
    topics: list[TopicScores]
    feedback: np.ndarray
    eligible: np.ndarray
    blocked: np.ndarray
    excluded: np.ndarray
    sent: np.ndarray
    revised: set[int]
    reasons: dict[int, Why]
    threshold: float

    def topic(self, i: int) -> TopicScores | None:
        """The reader's topic that paper i matches best (worked out for the few papers shown, not all)."""
        return max(self.topics, key=lambda t: t.scores[i], default=None)


# The papers a reader already got: by arXiv id, the version sent (None: unknown), or just the ids.
AlreadySent = Mapping[str, int | None] | frozenset[str] | set[str]

# Shared by every reader of an issue: the scores of each topic phrase (by phrase), which papers each excluded
# phrase rules out, and the picks of readers with nothing of their own yet (by their preferences).
Cache = dict[object, "TopicScores | np.ndarray | list[Pick]"]


def scored_topic(index: Index, topic: str, cache_: Cache, profiles: Mapping[str, PhraseProfile]) -> TopicScores:
    """The phrase's scores over the index, worked out by the first reader who has it and kept in the cache."""
    if topic not in cache_:
        cache_[topic] = score_topic(index, topic, profiles.get(topic))
    found = cache_[topic]
    assert isinstance(found, TopicScores)
    return found


def unwanted(
    prefs: Preferences,
    index: Index,
    already_sent: AlreadySent,
    cache_: Cache,
) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """Papers already sent (a newer version aside: `revised`) and papers the reader excluded. The masks
    are shared and must not be changed."""
    n = len(index.docs)
    if not already_sent and not prefs.excluded:
        # Readers with nothing sent yet and nothing excluded (new readers): one pair of empty masks for all.
        nothing = ("unwanted", "")  # a tuple: topic phrases are the cache's string keys
        if nothing not in cache_:
            cache_[nothing] = np.zeros(n, dtype=bool)
        none = cache_[nothing]
        assert isinstance(none, np.ndarray)
        return none, none, set()
    sent = np.zeros(n, dtype=bool)
    revised: set[int] = set()
    if already_sent:
        versions = already_sent if isinstance(already_sent, Mapping) else dict.fromkeys(already_sent)
        for paper_id, before in versions.items():
            i = index.position.get(paper_id)
            if i is None:
                continue
            now = index.docs[i].paper.version
            if before is not None and now is not None and now > before:
                revised.add(i)
            else:
                sent[i] = True
    excluded = np.zeros(n, dtype=bool)
    for text in prefs.excluded:
        key = ("excluded", text)
        if key not in cache_:
            phrase = tuple(s for s, _ in analyse(text))
            cache_[key] = np.array([bool(phrase) and _is_excluded(doc, phrase) for doc in index.docs], dtype=bool)
        mask = cache_[key]
        assert isinstance(mask, np.ndarray)
        excluded |= mask

    return sent, excluded, revised


def reader_threshold(subscriber: Subscriber, floor: float) -> float:
    """The least score a paper needs for this reader: their own min_score, else the floor."""
    return subscriber.min_score if subscriber.min_score is not None else floor


def score_reader(
    subscriber: Subscriber,
    index: Index,
    already_sent: AlreadySent,
    floor: float,
    cache_: Cache,
    profiles: Mapping[str, PhraseProfile],
    liked: Sequence[Paper],
    disliked: Sequence[Paper],
) -> Scored:
    n = len(index.docs)
    prefs = subscriber.preferences
    topics = [scored_topic(index, t, cache_, profiles) for t in prefs.topics]
    threshold = reader_threshold(subscriber, floor)
    sent, excluded, revised = unwanted(prefs, index, already_sent, cache_)

    reasons: dict[int, Why] = {}
    score = np.zeros(n)
    eligible = np.zeros(n, dtype=bool)
    if topics:
        best = total = topics[0].scores
        for other in topics[1:]:
            best = np.maximum(best, other.scores)
            total = total + other.scores
        # The best matching topic counts in full, the reader's other topics a little.
        score = best + OTHER_TOPICS_SHARE * (total - best) if len(topics) > 1 else best
        eligible = best >= threshold
    if prefs.categories:
        wanted = {c.lower() for c in prefs.categories}
        in_category = np.array([any(c.lower() in wanted for c in doc.paper.categories) for doc in index.docs])
        score = score + np.where(in_category, CATEGORY_BONUS if topics else 0.5, 0.0)
        if not topics:
            eligible |= in_category & (score >= threshold)
            for i in np.flatnonzero(in_category).tolist():
                category = next(c for c in index.docs[i].paper.categories if c.lower() in wanted)
                reasons[int(i)] = Why("category", category)
    feedback = np.zeros(n)
    for paper, sign in [*((p, 1.0) for p in liked), *((p, -1.0) for p in disliked)]:
        cosine = index.similarity(index.vector(paper))
        # As close as the closest paper of the day gets (the paper itself aside) counts in full.
        close = closeness(cosine, float(np.max(cosine[cosine < 0.999], initial=0.0)))
        feedback = feedback + sign * LIKED_WEIGHT * close
        if sign > 0:
            for i in np.flatnonzero(close >= LIKED_SIMILARITY).tolist():
                if int(i) not in reasons and not (topics and eligible[i]):
                    reasons[int(i)] = Why("liked", short_title(paper.title))
                    eligible[i] = True
    score = score + feedback
    followed = {_author_key(a): a for a in prefs.authors}
    if followed:
        score = score.copy()
        for i, doc in enumerate(index.docs):
            author = next((followed[k] for k in map(_author_key, doc.paper.authors) if k in followed), None)
            if author is not None:
                score[i] = max(score[i], 1.0)
                reasons[i] = Why("author", author)
                eligible[i] = True
    # A paper the reader asked for fewer of is never theirs again (its neighbours only score lower).
    refused = np.zeros(n, dtype=bool)
    refused[[at for p in disliked if (at := index.position.get(p.id)) is not None]] = True
    blocked = sent | excluded | refused
    return Scored(score, topics, feedback, eligible, blocked, excluded, sent, revised, reasons, threshold)


def short_title(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
