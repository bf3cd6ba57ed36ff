"""Ranking: (a reader's preferences, the candidate papers) -> ranked Picks, each with its "why" as data.

Pure and deterministic; no word lists. Per topic phrase, the parts of a paper's score are:

- lexical: BM25 over the title (counted twice) and the abstract, where the phrase's adjacent word pairs are
  terms too, so a paper using the phrase as a whole beats one sharing a single word of it ("circuit"); with
  a profile, the words of a paper holding only some of the phrase's count in full only as far as it agrees;
- background: closeness (cosine of TF-IDF vectors) to what the phrase means in the stored papers that use it
  most (a PhraseProfile, worked out by the store once per phrase and day); none on a fresh install;
- categories: how much of the profile's papers are filed where the candidate is (when it has categories);
- feedback: closeness to the papers the reader liked, minus closeness to those they disliked.

Word rarity comes from the batch itself plus, when there is one, a sample of the background (Vocabulary).
Scores are on a 0..1 scale. The Index analyses a batch of papers once and serves every reader.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from newsletter.meaning import (
    EMPTY_VOCABULARY,
    PhraseProfile,
    Vocabulary,
    analyse,
    idf,
    paper_terms,
    phrase_terms,
    tfidf,
)
from newsletter.models import Paper, Pick, Preferences, Subscriber, Why
from newsletter.trending import trending_score, why_trending

K1 = 1.2
B = 0.75
BACKGROUND_WEIGHT = 0.6
CATEGORY_WEIGHT = 0.3
PARTIAL_SHARE = 0.6  # of a partial match's words, with a profile that does not agree with the paper at all
OTHER_TOPICS_SHARE = 0.25
CATEGORY_BONUS = 0.15
LIKED_WEIGHT = 0.3
LIKED_SIMILARITY = 0.5
DEFAULT_FLOOR = 0.15
SHORTLIST = 64  # a topics-only reader's picks come from their topics' best papers, when that is provably exact

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class _Doc:
    paper: Paper
    counts: Counter[str]
    length: float
    vector: dict[str, float]

    # Worked out for the few papers a reader is shown or excludes, not for every paper of the day.
    @cached_property
    def title(self) -> tuple[tuple[str, str], ...]:
        return tuple(analyse(self.paper.title))

    @cached_property
    def abstract(self) -> tuple[tuple[str, str], ...]:
        return tuple(analyse(self.paper.abstract))

    def surface(self, stem_: str) -> str | None:
        """The word as the paper writes it (first in the title, else in the abstract)."""
        return next((w for s, w in (*self.title, *self.abstract) if s == stem_), None)


class Index:
    """The candidate papers of one issue, analysed once and shared by every reader's ranking."""

    def __init__(self, papers: Sequence[Paper], vocabulary: Vocabulary = EMPTY_VOCABULARY) -> None:
        self.papers = papers
        self.vocabulary = vocabulary
        df: Counter[str] = Counter()
        analysed = []
        for paper in papers:
            counts = paper_terms(paper)
            df.update(counts.keys())
            analysed.append((paper, counts))
        self.docs_total = len(papers) + vocabulary.docs
        self._df = df
        # Words only: pairs (most of the terms, nearly all in one paper) get theirs when a phrase asks.
        self.idf = {t: idf(d + vocabulary.df.get(t, 0), self.docs_total) for t, d in df.items() if "_" not in t}
        self.docs: list[_Doc] = []
        for paper, counts in analysed:
            length = float(sum(c for t, c in counts.items() if "_" not in t))
            self.docs.append(
                _Doc(
                    paper,
                    counts,
                    length,
                    tfidf(counts, self.idf, self.rarest),
                )
            )
        self.avg_length = (sum(d.length for d in self.docs) / len(self.docs) if self.docs else 1.0) or 1.0
        # The papers' vectors as one sparse matrix, so a phrase is scored against the whole batch in a few
        # array operations.
        self._column: dict[str, int] = {}
        rows, columns, values = [], [], []
        for i, doc in enumerate(self.docs):
            for term, value in doc.vector.items():
                rows.append(i)
                columns.append(self._column.setdefault(term, len(self._column)))
                values.append(value)
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self._rows = np.array(rows, dtype=np.int64)
        self._columns = np.array(columns, dtype=np.int64)
        self._values = np.array(values, dtype=float)
        lengths = np.array([d.length for d in self.docs], dtype=float)
        self._norms = K1 * (1 - B + B * lengths / self.avg_length)
        self.ids = [p.id for p in papers]
        self.position = {paper_id: i for i, paper_id in enumerate(self.ids)}
        # Each paper's first category as a number, so a profile's categories are looked up once per name.
        names: dict[str, int] = {"": 0}
        self.primary = np.array([names.setdefault(p.categories[0] if p.categories else "", len(names)) for p in papers])
        self.primary_names = list(names)
        self.upvotes = np.array([p.upvotes or 0 for p in papers], dtype=float)
        self.trending = np.array([trending_score(p) for p in papers], dtype=float)

    @property
    def rarest(self) -> float:
        return idf(0, self.docs_total)

    def term_idf(self, term: str) -> float:
        if term in self.idf:
            return self.idf[term]
        return idf(self._df.get(term, 0) + self.vocabulary.df.get(term, 0), self.docs_total)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The papers holding a term and how often, as arrays; found when a phrase first asks for the term (a
        day's phrases ask for a few hundred terms, its papers hold a few hundred thousand)."""
        if term not in self._arrays:
            held = [(i, doc.counts[term]) for i, doc in enumerate(self.docs) if term in doc.counts]
            self._arrays[term] = (
                (np.array([i for i, _ in held]), np.array([c for _, c in held], dtype=float)) if held else None
            )
        return self._arrays[term]

    def vector(self, paper: Paper) -> dict[str, float]:
        """A paper outside the index (a liked one) as a unit TF-IDF vector in the index's terms."""
        counts = paper_terms(paper)
        return tfidf(counts, {t: self.term_idf(t) for t in counts}, self.rarest)

    def similarity(self, vector: Mapping[str, float]) -> np.ndarray:
        """Cosine of a unit vector with every paper's."""
        dense = np.zeros(len(self._column) + 1)
        for term, value in vector.items():
            dense[self._column.get(term, -1)] = value  # terms no paper has land in the spare last slot
        dense[-1] = 0.0
        return np.bincount(self._rows, weights=self._values * dense[self._columns], minlength=len(self.docs))

    def holding(self, words: Sequence[str]) -> np.ndarray:
        """Which papers hold every one of these words."""
        held = np.ones(len(self.docs), dtype=bool)
        for word in set(words):
            has = np.zeros(len(self.docs), dtype=bool)
            held_by = self.postings(word)
            if held_by is not None:
                has[held_by[0]] = True
            held &= has
        return held

    def bm25(self, terms: Sequence[str]) -> np.ndarray:
        """Okapi BM25 of every paper for these terms."""
        scores = np.zeros(len(self.docs))
        for term in terms:
            held_by = self.postings(term)
            if held_by is not None:
                docs, tf = held_by
                scores[docs] += self.term_idf(term) * tf * (K1 + 1) / (tf + self._norms[docs])
        return scores


def _bm25(index: Index, terms: Sequence[str]) -> np.ndarray:
    """BM25 of each paper for these terms, as a share of the most the phrase's words can give (each endlessly
    repeated): a word used once in the abstract is worth about half of its share, in the title two thirds.
    Pairs of the phrase's words come on top, so the phrase as written can take a paper past 1."""
    best = sum(index.term_idf(t) for t in terms if "_" not in t) * (K1 + 1)
    if not best:
        return np.zeros(len(index.docs))
    return index.bm25(terms) / best


@dataclass(frozen=True)
class TopicScores:
    """One topic phrase scored against every paper of an index (the same for every reader who has it)."""

    topic: str
    lexical: np.ndarray
    background: np.ndarray
    categories: np.ndarray
    scores: np.ndarray
    stems: tuple[str, ...]
    profile: PhraseProfile | None
    _whys: dict[int, Why] = field(default_factory=dict, compare=False, repr=False)
    _shortlist: list[tuple[np.ndarray, float]] = field(default_factory=list, compare=False, repr=False)

    def shortlist(self) -> tuple[np.ndarray, float]:
        """The SHORTLIST best papers for this topic, and the score no other paper exceeds (-inf: no other)."""
        if not self._shortlist:
            n = len(self.scores)
            if n <= SHORTLIST:
                self._shortlist.append((np.arange(n), -np.inf))
            else:
                order = np.argpartition(-self.scores, SHORTLIST)
                # In paper order, so that ties fall as they do when every paper is scored.
                self._shortlist.append((np.sort(order[:SHORTLIST]), float(self.scores[order[SHORTLIST]])))
        return self._shortlist[0]

    def why(self, index: Index, i: int) -> Why:
        """The reason for paper i, built once however many readers share this topic."""
        if i not in self._whys:
            doc = index.docs[i]
            words = tuple(dict.fromkeys(w for w in (doc.surface(s) for s in self.stems) if w))
            evidence = f"like {self.profile.evidence()}" if self.profile and self.background[i] > 0 else ""
            self._whys[i] = Why("topic", self.topic, words, evidence)
        return self._whys[i]


def _closeness(cosine: np.ndarray, cohesion: float) -> np.ndarray:
    """Cosine to a profile as 0 for a typical paper of the batch (the median: most papers are about
    something else) to 1 for one as close as the profile's own papers are to it, or as the day's closest
    paper when none gets that close (a profile of a few papers fits them so tightly that no other paper
    could, and every paper would look equally far)."""
    typical = float(np.median(cosine)) if len(cosine) else 0.0
    cohesion = min(cohesion, float(np.max(cosine, initial=0.0)))
    if cohesion <= typical:
        return np.zeros_like(cosine)
    return np.clip((cosine - typical) / (cohesion - typical), 0.0, 1.0)


def score_topic(index: Index, topic: str, profile: PhraseProfile | None = None) -> TopicScores:
    stems = tuple(s for s, _ in analyse(topic))
    n = len(index.docs)
    lexical = _bm25(index, phrase_terms(stems)) if stems else np.zeros(n)
    background = np.zeros(n)
    categories = np.zeros(n)
    if profile is not None and profile.terms:
        background = _closeness(index.similarity(profile.terms), profile.cohesion)
        if profile.categories:
            share = np.array([profile.categories.get(c, 0.0) for c in index.primary_names])
            categories = share[index.primary]
        # A paper holding only some of the phrase's words ("circuit" of "analog circuit design") may be
        # about the other sense of a shared word: its words count in full only as far as the profile agrees.
        partial = ~index.holding(stems)
        lexical = np.where(partial, lexical * (PARTIAL_SHARE + (1 - PARTIAL_SHARE) * background), lexical)
        scores = lexical + BACKGROUND_WEIGHT * background + CATEGORY_WEIGHT * categories
    else:
        scores = lexical
    return TopicScores(topic, lexical, background, categories, scores, stems, profile)


def _author_key(name: str) -> str:
    return " ".join(_WORD.findall(name.lower()))


def _contains(seq: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n > 0 and any(tuple(seq[i : i + n]) == tuple(part) for i in range(len(seq) - n + 1))


def _is_excluded(doc: _Doc, phrase: tuple[str, ...]) -> bool:
    return _contains([s for s, _ in doc.title], phrase) or _contains([s for s, _ in doc.abstract], phrase)


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


@dataclass
class _Scored:
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


# Shared by every reader of an issue: the scores of each topic phrase (by phrase), which papers each excluded
# phrase rules out, and the picks of readers with nothing of their own yet (by their preferences).
Cache = dict[object, "TopicScores | np.ndarray | list[Pick]"]


def _topic(index: Index, topic: str, cache_: Cache, profiles: Mapping[str, PhraseProfile]) -> TopicScores:
    if topic not in cache_:
        cache_[topic] = score_topic(index, topic, profiles.get(topic))
    found = cache_[topic]
    assert isinstance(found, TopicScores)
    return found


def _unwanted(
    prefs: Preferences,
    index: Index,
    already_sent: Mapping[str, int | None] | frozenset[str] | set[str],
    cache_: Cache,
) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """Papers already sent (a newer version aside: `revised`) and papers the reader excluded."""
    n = len(index.docs)
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


def _score(
    subscriber: Subscriber,
    index: Index,
    already_sent: Mapping[str, int | None] | frozenset[str] | set[str],
    floor: float,
    cache_: Cache,
    profiles: Mapping[str, PhraseProfile],
    liked: Sequence[Paper],
    disliked: Sequence[Paper],
) -> _Scored:
    n = len(index.docs)
    prefs = subscriber.preferences
    topics = [_topic(index, t, cache_, profiles) for t in prefs.topics]
    threshold = subscriber.min_score if subscriber.min_score is not None else floor
    sent, excluded, revised = _unwanted(prefs, index, already_sent, cache_)

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
        close = _closeness(cosine, float(np.max(cosine[cosine < 0.999], initial=0.0)))
        feedback = feedback + sign * LIKED_WEIGHT * close
        if sign > 0:
            for i in np.flatnonzero(close >= LIKED_SIMILARITY).tolist():
                if int(i) not in reasons and not (topics and eligible[i]):
                    reasons[int(i)] = Why("liked", _short(paper.title))
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
    return _Scored(score, topics, feedback, eligible, sent | excluded, excluded, sent, revised, reasons, threshold)


def rank(
    subscriber: Subscriber,
    index: Index,
    already_sent: Mapping[str, int | None] | frozenset[str] | set[str] = frozenset(),
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
    already_sent: Mapping[str, int | None] | frozenset[str] | set[str],
    floor: float,
    cache_: Cache,
    profiles: Mapping[str, PhraseProfile],
    liked: Sequence[Paper],
    disliked: Sequence[Paper],
) -> list[Pick]:
    prefs = subscriber.preferences
    if not (prefs.topics or prefs.authors or prefs.categories or liked):
        blocked = _score(subscriber, index, already_sent, floor, cache_, profiles, (), ()).blocked
        return _trending(index, blocked, subscriber.max_items, section=False)
    if prefs.topics and not (prefs.categories or prefs.authors or liked or disliked):
        topics = [_topic(index, t, cache_, profiles) for t in prefs.topics]
        sent, excluded, revised = _unwanted(prefs, index, already_sent, cache_)
        threshold = subscriber.min_score if subscriber.min_score is not None else floor
        short = _shortlisted(topics, index, sent | excluded, threshold, subscriber.max_items)
        if short is not None:
            chosen, scores, which = short
            picks = [
                Pick(index.docs[i].paper, min(s, 1.0), topics[t].why(index, i), i in revised)
                for i, s, t in zip(chosen, scores, which, strict=True)
            ]
            return picks + _trending_section(subscriber, index, sent | excluded, chosen)
    scored = _score(subscriber, index, already_sent, floor, cache_, profiles, liked, disliked)
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


def _chosen(scored: _Scored, k: int, index: Index) -> list[int]:
    open_ = scored.eligible & ~scored.blocked
    score = np.where(open_, scored.score, -np.inf)
    if int(open_.sum()) > k:
        # Only the best k (and any tied with the k-th) need the full ordering.
        kth = -np.partition(-score, k - 1)[k - 1]
        chosen = np.flatnonzero(score >= kth)
    else:
        chosen = np.flatnonzero(open_)
    return [int(i) for i in chosen[np.lexsort((-index.upvotes[chosen], -score[chosen]))][:k]]


def _why(scored: _Scored, index: Index, i: int) -> Why:
    reason = scored.reasons.get(i)
    if reason is not None:
        return reason
    topic = scored.topic(i)
    assert topic is not None, "a paper is eligible by a topic or has a reason of its own"
    return topic.why(index, i)


def explain(
    subscriber: Subscriber,
    index: Index,
    already_sent: Mapping[str, int | None] | frozenset[str] | set[str] = frozenset(),
    floor: float = DEFAULT_FLOOR,
    liked: Sequence[Paper] = (),
    disliked: Sequence[Paper] = (),
    profiles: Mapping[str, PhraseProfile] | None = None,
    top: int = 15,
) -> list[Explained]:
    """The `top` best candidates for this reader, picked or not, with the parts of their scores."""
    if not index.docs:
        return []
    scored = _score(subscriber, index, already_sent, floor, {}, profiles or {}, liked, disliked)
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


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
