"""Ranking: (a reader's preferences, the candidate papers) -> ranked Picks, each with a one-line "why".

Pure and deterministic; works cold from a few topic phrases, with no categories. Three signals per phrase:

- lexical: a field-weighted BM25 (the title counts more) in which a phrase counts as a whole: the share of
  the phrase's weight a paper covers is applied twice, and an exact or near occurrence earns a bonus, so a
  paper sharing one ambiguous word ("circuit") with a long phrase scores low;
- field agreement: the phrase and each paper are placed among research fields (newsletter.fields) and
  agreement is rewarded, so "analog circuit design" favours amplifiers and converters, not neurons;
- pseudo-relevance feedback: the best first-pass papers define what the reader means in this batch, and
  papers close to them (cosine of TF-IDF vectors) move up.

Scores are on a 0..1 scale. The Index analyses a batch of papers once and serves every reader.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from newsletter.fields import FIELDS
from newsletter.models import Paper, Pick, Subscriber
from newsletter.trending import trending_score, why_trending

FIELD_WEIGHTS = {"title": 3.0, "abstract": 1.0}
K1 = 1.2
B = 0.75
EXACT_PHRASE_BONUS = 0.25
NEAR_PHRASE_BONUS = 0.10
NEAR_WINDOW = 8
# How the three signals combine, and how much of the first pass seeds the feedback.
LEXICAL_WEIGHT = 0.45
FIELD_WEIGHT = 0.25
FEEDBACK_WEIGHT = 0.30
FIRST_PASS_FIELD_WEIGHT = 0.5
FEEDBACK_DOCS = 4
SEED_MIN = 0.3  # first-pass evidence a paper needs to shape what the reader means
OTHER_TOPICS_SHARE = 0.25
CATEGORY_BONUS = 0.15
LIKED_WEIGHT = 0.3
LIKED_SIMILARITY = 0.35
DEFAULT_FLOOR = 0.15

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    " ".join(
        [
            "a an and are as at be by can for from has have in into is it its of on or our that the their this to",
            "we what when which with via using use used based new towards toward between across over under than",
            "these those such not also both how do does while more most less show propose present study paper",
            "results two one three first find finds found",
        ]
    ).split()
)


def stem(word: str) -> str:
    """A light suffix stemmer: enough to make 'circuits' meet 'circuit' and 'learning' meet 'learn'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def analyse(text: str) -> list[tuple[str, str]]:
    """(stem, surface word) pairs of the content words of a text, in order."""
    return [(stem(w), w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def features(stems: Sequence[str]) -> Counter[str]:
    """Words and adjacent word pairs ('neural circuit' says more than 'neural' and 'circuit' apart)."""
    found = Counter(stems)
    found.update(f"{a}_{b}" for a, b in itertools.pairwise(stems))
    return found


@dataclass(frozen=True)
class _Field:
    stems: tuple[str, ...]
    counts: Counter[str]
    surface: dict[str, str]

    @classmethod
    def of(cls, text: str) -> _Field:
        pairs = analyse(text)
        surface: dict[str, str] = {}
        for s, w in pairs:
            surface.setdefault(s, w)
        return cls(tuple(s for s, _ in pairs), Counter(s for s, _ in pairs), surface)


class FieldModel:
    """Places a bag of words among the research fields of newsletter.fields (a distribution summing to 1)."""

    def __init__(self, profiles: dict[str, str]) -> None:
        self.names = list(profiles)
        self.profiles = [features([s for s, _ in analyse(text)]) for text in profiles.values()]
        df: Counter[str] = Counter()
        for profile in self.profiles:
            df.update(profile.keys())
        n = len(self.profiles)
        # A word found in many fields' vocabularies ("network", "memory") says little about which one.
        self.weight = {t: math.log(1 + n / d) for t, d in df.items()}

    def affinity(self, bag: Counter[str]) -> dict[str, float]:
        scores: dict[str, float] = {}
        for name, profile in zip(self.names, self.profiles, strict=True):
            score = sum((1 + math.log(c)) * self.weight[t] for t, c in bag.items() if t in profile)
            if score > 0:
                scores[name] = score
        total = sum(v * v for v in scores.values())
        if not total:
            return {}
        # Squared shares sharpen the distribution toward the dominant field.
        return {k: v * v / total for k, v in scores.items()}


@cache
def field_model() -> FieldModel:
    return FieldModel(FIELDS)


@dataclass(frozen=True)
class _Doc:
    paper: Paper
    fields: dict[str, _Field]
    vector: dict[str, float]
    areas: dict[str, float]


@dataclass
class Index:
    """The candidate papers of one issue, analysed once and shared by every reader's ranking."""

    papers: Sequence[Paper]
    docs: list[_Doc] = field(init=False)
    idf: dict[str, float] = field(init=False)
    avg_len: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        analysed = [{"title": _Field.of(p.title), "abstract": _Field.of(p.abstract)} for p in self.papers]
        n = len(analysed)
        df: Counter[str] = Counter()
        for fields in analysed:
            df.update(set(fields["title"].counts) | set(fields["abstract"].counts))
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.avg_len = {
            name: (sum(len(f[name].stems) for f in analysed) / n if n else 1.0) or 1.0 for name in FIELD_WEIGHTS
        }
        model = field_model()
        self.docs = []
        for paper, fields in zip(self.papers, analysed, strict=True):
            counts = fields["title"].counts + fields["title"].counts + fields["abstract"].counts
            self.docs.append(
                _Doc(
                    paper,
                    fields,
                    _unit({t: (1 + math.log(c)) * self.idf[t] for t, c in counts.items()}),
                    model.affinity(features(fields["title"].stems) + features(fields["abstract"].stems)),
                )
            )

        self.ids = [p.id for p in self.papers]
        self.upvotes = np.array([p.upvotes or 0 for p in self.papers], dtype=float)
        self.trending = np.array([trending_score(p) for p in self.papers], dtype=float)

    def vector(self, paper: Paper) -> dict[str, float]:
        """A paper outside the index (a liked one) as a unit TF-IDF vector in the index's terms."""
        counts: Counter[str] = Counter()
        for term, _ in analyse(paper.title):
            counts[term] += 2
        for term, _ in analyse(paper.abstract):
            counts[term] += 1
        return _unit({t: (1 + math.log(c)) * self.term_idf(t) for t, c in counts.items()})

    def similarity(self, vector: dict[str, float]) -> np.ndarray:
        return np.array([_dot(vector, doc.vector) for doc in self.docs], dtype=float)

    def term_idf(self, term: str) -> float:
        # A word no candidate contains is as rare as it gets.
        return self.idf.get(term, math.log(1 + (len(self.docs) + 0.5) / 0.5))


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else {}


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[k] for k, v in a.items() if k in b)


@dataclass(frozen=True)
class _Match:
    score: float
    words: dict[str, list[str]]


def _contains(seq: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n > 0 and any(tuple(seq[i : i + n]) == tuple(part) for i in range(len(seq) - n + 1))


def _near(seq: Sequence[str], terms: set[str], window: int) -> bool:
    """Whether every term occurs within one window of positions."""
    positions = [(i, s) for i, s in enumerate(seq) if s in terms]
    for start, (i, _) in enumerate(positions):
        seen = {s for j, s in positions[start:] if j - i < window}
        if seen >= terms:
            return True
    return False


def _lexical(index: Index, doc: _Doc, phrase: tuple[str, ...]) -> _Match:
    terms = list(dict.fromkeys(phrase))
    if not terms:
        return _Match(0.0, {})
    total_idf = sum(index.term_idf(t) for t in terms)
    score = covered = 0.0
    words: dict[str, list[str]] = {name: [] for name in FIELD_WEIGHTS}
    for term in terms:
        weighted_tf = 0.0
        for name, weight in FIELD_WEIGHTS.items():
            fld = doc.fields[name]
            tf = fld.counts.get(term, 0)
            if tf:
                norm = 1 - B + B * len(fld.stems) / index.avg_len[name]
                weighted_tf += weight * tf / norm
                words[name].append(fld.surface[term])
        if weighted_tf:
            idf = index.term_idf(term)
            score += idf * weighted_tf / (K1 + weighted_tf)
            covered += idf
    coverage = covered / total_idf
    relevance = (score / total_idf) * coverage**2
    if len(terms) > 1 and coverage == 1.0:
        fields = [doc.fields[name].stems for name in FIELD_WEIGHTS]
        if any(_contains(seq, phrase) for seq in fields):
            relevance += EXACT_PHRASE_BONUS
        elif any(_near(seq, set(terms), NEAR_WINDOW) for seq in fields):
            relevance += NEAR_PHRASE_BONUS
    return _Match(min(relevance, 1.0), {k: v for k, v in words.items() if v})


@dataclass(frozen=True)
class TopicScores:
    """One topic phrase scored against every paper of an index (the same for every reader who has it)."""

    topic: str
    scores: np.ndarray
    matches: tuple[_Match, ...]
    related: tuple[tuple[str, ...], ...]
    _whys: dict[int, str] = field(default_factory=dict, compare=False, repr=False)

    def why(self, i: int) -> str:
        """The "why" line for paper i, built once however many readers share this topic."""
        if i not in self._whys:
            self._whys[i] = _why_topic(self.topic, self.matches[i], self.related[i])
        return self._whys[i]


def score_topic(index: Index, topic: str) -> TopicScores:
    phrase = tuple(s for s, _ in analyse(topic))
    lexical = [_lexical(index, doc, phrase) for doc in index.docs]
    wanted = field_model().affinity(features(phrase))
    # 1.0 when a paper sits in the phrase's fields exactly as the phrase does; absolute, so a batch with no
    # paper of the reader's field gives nobody a high score.
    self_agreement = _dot(wanted, wanted)
    agreement = [min(1.0, _dot(wanted, doc.areas) / self_agreement) if self_agreement else 0.0 for doc in index.docs]
    # Words matched in a paper of another field count for less, in proportion to how surely the phrase
    # names a field at all (a phrase the field model cannot place gates nothing).
    confidence = max(wanted.values(), default=0.0)
    lexical = [_Match(m.score * (1 - confidence * (1 - a)), m.words) for m, a in zip(lexical, agreement, strict=True)]
    first = [m.score + FIRST_PASS_FIELD_WEIGHT * a for m, a in zip(lexical, agreement, strict=True)]
    seeds = sorted((i for i, s in enumerate(first) if s >= SEED_MIN), key=lambda i: -first[i])[:FEEDBACK_DOCS]
    centroid: dict[str, float] = {}
    for i in seeds:
        for term, value in index.docs[i].vector.items():
            centroid[term] = centroid.get(term, 0.0) + first[i] * value
    centroid = _unit(centroid)
    feedback = _scaled([_dot(centroid, doc.vector) for doc in index.docs])
    scores = np.minimum(
        1.0,
        LEXICAL_WEIGHT * np.array([m.score for m in lexical], dtype=float)
        + FIELD_WEIGHT * np.array(agreement, dtype=float)
        + FEEDBACK_WEIGHT * np.array(feedback, dtype=float),
    )
    top_terms = [t for t, _ in sorted(centroid.items(), key=lambda kv: -kv[1])[:25] if t not in phrase]
    related = tuple(
        tuple(
            doc.fields["title"].surface.get(t) or doc.fields["abstract"].surface.get(t) or ""
            for t in top_terms
            if t in doc.vector
        )[:3]
        for doc in index.docs
    )
    return TopicScores(topic, scores, tuple(lexical), related)


def _scaled(values: list[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top for v in values] if top > 0 else [0.0 for _ in values]


def _why_topic(topic: str, match: _Match, related: tuple[str, ...]) -> str:
    """ "matches your topic 'X' (title: 'a', 'b'; abstract: 'c')": each matched word once, where it counts most."""
    shown: set[str] = set()
    parts = []
    for name, words in match.words.items():
        fresh = [w for w in words if stem(w) not in shown][:4]
        shown.update(stem(w) for w in fresh)
        if fresh:
            parts.append(f"{name}: " + ", ".join(f"'{w}'" for w in fresh))
    if not parts and related:
        parts.append("related: " + ", ".join(f"'{w}'" for w in related if w))
    return f"matches your topic '{topic}'" + (f" ({'; '.join(parts)})" if parts else "")


def _author_key(name: str) -> str:
    return " ".join(_WORD.findall(name.lower()))


def _is_excluded(doc: _Doc, excluded: Iterable[tuple[str, ...]]) -> bool:
    return any(
        _contains(doc.fields["title"].stems, phrase) or _contains(doc.fields["abstract"].stems, phrase)
        for phrase in excluded
        if phrase
    )


def rank(
    subscriber: Subscriber,
    index: Index,
    already_sent: Mapping[str, int | None] | frozenset[str] | set[str] = frozenset(),
    floor: float = DEFAULT_FLOOR,
    topic_scores: dict[str, TopicScores] | None = None,
    liked: Sequence[Paper] = (),
    disliked: Sequence[Paper] = (),
) -> list[Pick]:
    """The reader's picks among the indexed papers, best first, at most `max_items`.

    `already_sent` maps each paper the reader already got to the version sent: it never comes back, except
    once as a newer version, marked updated. `topic_scores` caches scored phrases across readers: readers
    who share a topic share its cost, and the per-reader work is a few vector operations. `liked` and
    `disliked` are the papers of the reader's feedback.
    """
    n = len(index.docs)
    prefs = subscriber.preferences
    if n == 0:
        return []
    cache_: dict = topic_scores if topic_scores is not None else {}
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
            return cache_[shared_key]
    picks = _rank(subscriber, index, already_sent, floor, cache_, liked, disliked)
    if shared_key is not None:
        cache_[shared_key] = picks
    return picks


def _rank(
    subscriber: Subscriber,
    index: Index,
    already_sent: Mapping[str, int | None] | frozenset[str] | set[str],
    floor: float,
    cache_: dict,
    liked: Sequence[Paper],
    disliked: Sequence[Paper],
) -> list[Pick]:
    n = len(index.docs)
    prefs = subscriber.preferences
    topics = []
    for topic in prefs.topics:
        if topic not in cache_:
            cache_[topic] = score_topic(index, topic)
        topics.append(cache_[topic])
    threshold = subscriber.min_score if subscriber.min_score is not None else floor
    blocked = np.zeros(n, dtype=bool)
    revised: set[int] = set()
    if already_sent:
        versions = already_sent if isinstance(already_sent, Mapping) else dict.fromkeys(already_sent)
        for i, doc in enumerate(index.docs):
            if doc.paper.id in versions:
                sent, now = versions[doc.paper.id], doc.paper.version
                if sent is not None and now is not None and now > sent:
                    revised.add(i)
                else:
                    blocked[i] = True
    for phrase in (tuple(s for s, _ in analyse(x)) for x in prefs.excluded):
        if phrase:
            blocked |= np.array([_is_excluded(doc, [phrase]) for doc in index.docs])

    if not (topics or prefs.authors or prefs.categories or liked):
        return _trending(index, blocked, subscriber.max_items, section=False)

    reasons: dict[int, str] = {}
    score = np.zeros(n)
    eligible = np.zeros(n, dtype=bool)
    if len(topics) == 1:
        best_topic = np.zeros(n, dtype=int)
        best = score = topics[0].scores
        eligible |= best >= threshold
    elif topics:
        table = np.vstack([t.scores for t in topics])
        best_topic = table.argmax(axis=0)
        best = table.max(axis=0)
        score = best + OTHER_TOPICS_SHARE * (table.sum(axis=0) - best)
        eligible |= best >= threshold
    if prefs.categories:
        wanted = {c.lower() for c in prefs.categories}
        in_category = np.array([any(c.lower() in wanted for c in doc.paper.categories) for doc in index.docs])
        score = score + np.where(in_category, CATEGORY_BONUS if topics else 0.5, 0.0)
        if not topics:
            eligible |= in_category & (score >= threshold)
            for i in np.flatnonzero(in_category):
                category = next(c for c in index.docs[i].paper.categories if c.lower() in wanted)
                reasons[int(i)] = f"new in {category}, a category you follow"
    for paper, sign in [*((p, 1.0) for p in liked), *((p, -1.0) for p in disliked)]:
        close = index.similarity(index.vector(paper))
        score = score + sign * LIKED_WEIGHT * close
        if sign > 0:
            for i in np.flatnonzero(close >= LIKED_SIMILARITY):
                if int(i) not in reasons and not (topics and best[i] >= threshold):
                    reasons[int(i)] = f"like '{_short(paper.title)}', which you liked"
                    eligible[i] = True
    followed = {_author_key(a): a for a in prefs.authors}
    if followed:
        for i, doc in enumerate(index.docs):
            author = next((followed[k] for k in map(_author_key, doc.paper.authors) if k in followed), None)
            if author is not None:
                score[i] = max(score[i], 1.0)
                reasons[i] = f"by {author}, whom you follow"
                eligible[i] = True

    chosen = np.flatnonzero(eligible & ~blocked)
    k = subscriber.max_items
    if len(chosen) > k:
        # Only the best k (and any tied with the k-th) need the full ordering.
        kth = -np.partition(-score[chosen], k - 1)[k - 1]
        chosen = chosen[score[chosen] >= kth]
    chosen = chosen[np.lexsort((-index.upvotes[chosen], -score[chosen]))][:k]
    picks = []
    for i in map(int, chosen):
        why = reasons.get(i)
        if why is None:
            why = topics[best_topic[i]].why(i)
        picks.append(Pick(index.docs[i].paper, min(float(score[i]), 1.0), why, updated=i in revised))
    if subscriber.trending_items:
        blocked[chosen] = True  # the section never repeats the reader's own picks
        picks += _trending(index, blocked, subscriber.trending_items, section=True)
    return picks


def _trending(index: Index, blocked: np.ndarray, k: int, section: bool) -> list[Pick]:
    """The k papers with the best trending score (votes with a time decay) that are not blocked."""
    order = [int(i) for i in np.argsort(-index.trending, kind="stable") if not blocked[i]][:k]
    return [Pick(index.docs[i].paper, 0.0, why_trending(index.docs[i].paper), trending=section) for i in order]


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
