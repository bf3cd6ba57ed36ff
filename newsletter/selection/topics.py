"""One topic phrase scored against every paper of an index, once for all its readers.

Lexical (BM25 with the phrase's word pairs), closeness to the phrase's profile, and its categories; the same for
every reader who has the phrase."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from newsletter.meaning import PhraseProfile
from newsletter.models import Pick, Why
from newsletter.selection.index import K1, Index
from newsletter.words import analyse, phrase_terms

BACKGROUND_WEIGHT = 0.6
CATEGORY_WEIGHT = 0.3
PARTIAL_SHARE = 0.6  # of a partial match's words, with a profile that does not agree with the paper at all
SOLID_SUPPORT = 10  # papers a profile is learned from before it alone can pick a paper outright
SHORTLIST = 32  # a topics-only reader's picks come from their topics' best papers, when that is provably exact


def lexical_scores(index: Index, terms: Sequence[str]) -> np.ndarray:
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
    _full: dict[tuple[int, bool], Pick] = field(default_factory=dict, compare=False, repr=False)

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

    def pick(self, index: Index, i: int, score: float, updated: bool) -> Pick:
        """Paper i picked for this topic; a full match (a score of 1, the most shown) is the same Pick for
        every reader who gets it, made once."""
        if score < 1.0:
            return Pick(index.docs[i].paper, score, self.why(index, i), updated)
        key = (i, updated)
        if key not in self._full:
            self._full[key] = Pick(index.docs[i].paper, 1.0, self.why(index, i), updated)
        return self._full[key]

    def why(self, index: Index, i: int) -> Why:
        """The reason for paper i, built once however many readers share this topic."""
        if i not in self._whys:
            doc = index.docs[i]
            words = tuple(dict.fromkeys(w for w in (doc.surface(s) for s in self.stems) if w))
            # What the phrase means, when learned from enough papers to say it: one paper tells a reader nothing
            # (and was often the digest's own first paper).
            evidence = ""
            if self.profile is not None and self.profile.support >= SOLID_SUPPORT and self.background[i] > 0:
                evidence = f"like {found}" if (found := self.profile.evidence()) else ""
            self._whys[i] = Why("topic", self.topic, words, evidence)
        return self._whys[i]


def closeness(cosine: np.ndarray, cohesion: float, anchored: bool = True) -> np.ndarray:
    """Cosine to a profile as 0 for a typical paper of the batch (the median: most papers are about
    something else) to 1 for one as close as the profile's own papers are to it, or, `anchored`, as the
    day's closest paper when none gets that close (a profile of a few papers fits them so tightly that no
    other paper could, and every paper would look equally far)."""
    typical = median(cosine) if len(cosine) else 0.0
    if anchored:
        cohesion = min(cohesion, float(np.max(cosine, initial=0.0)))
    if cohesion <= typical:
        return np.zeros_like(cosine)
    return np.clip((cosine - typical) / (cohesion - typical), 0.0, 1.0)


def median(values: np.ndarray) -> float:
    """np.median of a non-empty 1-D float64 array without NaN (a cosine per paper), the same float: np.median's
    NaN check imports numpy.ma, 30 ms of every process that ranks."""
    middle = len(values) // 2
    ordered = np.partition(values, middle)
    found = ordered[middle] if len(values) % 2 else (ordered[:middle].max() + ordered[middle]) / 2
    return float(found) + 0.0  # numpy's mean of zeros is 0.0, never -0.0


def score_topic(index: Index, topic: str, profile: PhraseProfile | None = None) -> TopicScores:
    stems = tuple(s for s, _ in analyse(topic))
    n = len(index.docs)
    lexical = lexical_scores(index, phrase_terms(stems)) if stems else np.zeros(n)
    background = np.zeros(n)
    categories = np.zeros(n)
    if profile is not None and profile.terms:
        cosine = index.similarity(profile.terms)
        anchored = closeness(cosine, profile.cohesion)
        # A paper holding none of the phrase's words has only the profile to go on. Against the day's closest
        # paper, a day without the topic ("black holes" among machine-learning papers) filled the digest with
        # whatever came nearest: it counts as close as the profile's own papers are to it; or, for a profile
        # of fewer papers than SOLID_SUPPORT (which fits them closer than any other paper can be), in
        # proportion to how many papers it was learned from.
        if profile.support >= SOLID_SUPPORT:
            wordless = closeness(cosine, profile.cohesion, anchored=False)
        else:
            wordless = anchored * (profile.support / SOLID_SUPPORT)
        background = np.where(lexical > 0, anchored, wordless)
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
