"""What a topic phrase means, learned from the papers that use it: words, term weights and phrase profiles.

Pure (no I/O): the store hands in papers (background neighbours of a phrase, a sample for word rarity) and
gets back frozen values that selection.py scores with. Nothing here knows any field or any word list.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from newsletter.models import Paper

_WORD = re.compile(r"[a-z0-9]+")
# Function words only: they carry no topic in any field.
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
PROFILE_TERMS = 300  # the strongest terms of a centroid; the long tail is noise and costs time per paper


@lru_cache(maxsize=262144)
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


def stems(text: str) -> list[str]:
    """The stems of the content words of a text, in order."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@lru_cache(maxsize=2048)
def paper_terms(paper: Paper) -> Counter[str]:
    """Term counts of a paper, the title counted twice, words and adjacent pairs alike (kept for the papers
    seen last: the same background papers serve many phrases). Callers must not change the result."""
    title = terms(stems(paper.title))
    counts = Counter(title)
    counts.update(title)
    counts.update(terms(stems(paper.abstract)))
    return counts


def terms(stems: Sequence[str]) -> list[str]:
    """Words and adjacent pairs ('analog_circuit') of a text, in order: a pair makes a phrase count as a whole."""
    return [*stems, *(f"{a}_{b}" for a, b in itertools.pairwise(stems))]


def phrase_terms(stems: Sequence[str]) -> list[str]:
    """A phrase's terms, each once."""
    return list(dict.fromkeys(terms(stems)))


@dataclass(frozen=True)
class Vocabulary:
    """How many of `docs` papers use each term: word rarity measured on a sample of the background."""

    docs: int
    df: Mapping[str, int]
    # Each term's idf when the maker has it already (the shipped model works out 100k of them at once).
    idf: Mapping[str, float] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, papers: Iterable[Paper]) -> Vocabulary:
        df: Counter[str] = Counter()
        n = 0
        for paper in papers:
            df.update(paper_terms(paper).keys())
            n += 1
        # A pair of words seen once in a sample says nothing a missing one would not (both count as rare),
        # and such pairs are most of the entries.
        return cls(n, {t: d for t, d in df.items() if d > 1 or "_" not in t})

    @cached_property
    def weights(self) -> Mapping[str, float]:
        """Each term's idf in the sample, worked out once."""
        if self.idf is not None:
            return self.idf
        return {t: idf(d, self.docs) for t, d in self.df.items()}


EMPTY_VOCABULARY = Vocabulary(0, {})


def idf(df: int, docs: int) -> float:
    """BM25's inverse document frequency (always positive)."""
    return math.log(1 + (docs - df + 0.5) / (df + 0.5))


def tfidf(counts: Mapping[str, int], weight: Mapping[str, float] | None, fallback: float) -> dict[str, float]:
    """A unit TF-IDF vector over the words only (pairs are for matching the phrase, not for closeness)."""
    get = (weight if weight is not None else {}).get
    damped = _DAMPED
    # The damping looked up inline: this runs for every neighbour of every phrase of the day.
    vector = {
        t: (damped[c] if c < 64 else 1 + math.log(c)) * get(t, fallback) for t, c in counts.items() if "_" not in t
    }
    return unit(vector)


# 1 + log(count): a word's tenth use says less than its first (looked up for the usual small counts).
_DAMPED = tuple(1 + math.log(c) if c else 0.0 for c in range(64))


def unit(vector: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else {}


def dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[k] for k, v in a.items() if k in b)


@dataclass(frozen=True)
class PhraseProfile:
    """What a phrase means in the papers that use it: the TF-IDF centroid of its nearest background papers
    (without the phrase's own words, which the lexical score already counts), how close those papers sit to
    that centroid (the scale of a good match), and the categories they are filed in."""

    phrase: str
    terms: Mapping[str, float]
    cohesion: float
    categories: Mapping[str, float]
    support: int

    def evidence(self, top: int = 3) -> str:
        """'50 papers on cs.LG, cs.CL': what the profile was learned from, for the "why" and --explain."""
        names = ", ".join(c for c, _ in sorted(self.categories.items(), key=lambda kv: -kv[1])[:top])
        noun = "paper" if self.support == 1 else "papers"
        return f"{self.support} {noun}" + (f" on {names}" if names else "")


APART = 0.1  # of a neighbour's weight, chosen on the tune split
WINDOW = 4


def _near(paper: Paper, words: Sequence[str]) -> bool:
    """Whether the paper holds all these words within a few words of one another (title or abstract)."""
    wanted = set(words)
    for text in (paper.title, paper.abstract):
        sequence = stems(text)
        last: dict[str, int] = {}
        for i, s in enumerate(sequence):
            if s in wanted:
                last[s] = i
                if len(last) == len(wanted) and i - min(last.values()) <= len(wanted) - 1 + WINDOW:
                    return True
    return False


def profile_from(phrase: str, neighbours: Sequence[Paper], vocabulary: Vocabulary) -> PhraseProfile | None:
    """The profile of `phrase` from the background papers that use it most (None when there are none).

    Each neighbour counts by how much it uses the phrase (BM25-like saturation over the phrase's words and
    pairs, the rarer the term the more it weighs): papers using the phrase as written outweigh papers that
    only hold its words somewhere, so a word's other sense does not take the profile over."""
    if not neighbours:
        return None
    own = phrase_terms([s for s, _ in analyse(phrase)])
    weights = vocabulary.weights
    rarest = idf(0, vocabulary.docs)
    counts = [paper_terms(p) for p in neighbours]
    uses = [sum(weights.get(t, rarest) * c[t] / (c[t] + 1.2) for t in own if c.get(t)) for c in counts]
    words = [t for t in own if "_" not in t]
    pairs = [t for t in own if "_" in t]
    if pairs:
        # A paper holding the phrase's words far apart (the fallback when few use it as written) may use
        # each in another sense: "forecasts" of "inflation" in cosmology are not inflation forecasting.
        uses = [
            use if all(c.get(t) for t in pairs) or _near(p, words) else use * APART
            for use, c, p in zip(uses, counts, neighbours, strict=True)
        ]
    if not any(uses):
        uses = [1.0] * len(neighbours)
    vectors = [tfidf(c, weights, rarest) for c in counts]
    summed: dict[str, float] = {}
    shared: dict[str, int] = {}
    for vector, use in zip(vectors, uses, strict=True):
        for t, v in vector.items():
            summed[t] = summed.get(t, 0.0) + use * v
            shared[t] = shared.get(t, 0) + 1
    for t in own:
        summed.pop(t, None)
    # What the neighbours share says what the phrase means; a word of one paper only says what that paper is about.
    centroid = {t: v * shared[t] / len(vectors) for t, v in summed.items()}
    strongest = unit(dict(heapq.nlargest(PROFILE_TERMS, centroid.items(), key=lambda tv: tv[1])))
    cohesion = sum(use * dot(strongest, v) for v, use in zip(vectors, uses, strict=True)) / sum(uses)
    categories: defaultdict[str, float] = defaultdict(float)  # weighted uses: fractional counts
    for paper, use in zip(neighbours, uses, strict=True):
        for i, category in enumerate(paper.categories):
            # The primary category says most about where a paper belongs.
            categories[category] += use * (1.0 if i == 0 else 0.5)
    total = sum(categories.values())
    return PhraseProfile(
        phrase,
        strongest,
        cohesion,
        {c: v / total for c, v in sorted(categories.items(), key=lambda cv: cv[1], reverse=True)[:10]} if total else {},
        len(neighbours),
    )
