"""What a topic phrase means, learned from the papers that use it: words, term weights and phrase profiles.

Pure (no I/O): the store hands in papers (background neighbours of a phrase, a sample for word rarity) and
gets back frozen values that selection.py scores with. Nothing here knows any field or any word list.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

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


@lru_cache(maxsize=8192)
def paper_stems(paper: Paper) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The stems of a paper's title and of its abstract (kept for the papers seen last: the same background
    papers serve many phrases)."""
    return tuple(stems(paper.title)), tuple(stems(paper.abstract))


@lru_cache(maxsize=2048)
def paper_terms(paper: Paper) -> Counter[str]:
    """Term counts of a paper, the title counted twice, words and adjacent pairs alike. Callers must not
    change the result."""
    title_stems, abstract_stems = paper_stems(paper)
    title = terms(title_stems)
    counts = Counter(title)
    counts.update(title)
    counts.update(terms(abstract_stems))
    return counts


# Each word seen by this process as a number, so that many papers' words add up in a few array operations.
# Never forgotten, and small for a worker's lifetime: all 100k papers of the shared corpus hold 132k words.
_WORD_IDS: dict[str, int] = {}
_WORDS: list[str] = []


_NEW_WORD = threading.Lock()  # web requests rank in threads: a number must name one word, and a word have one


def _word_id(word: str) -> int:
    with _NEW_WORD:
        found = _WORD_IDS.get(word)
        if found is None:
            found = _WORD_IDS[word] = len(_WORDS)
            _WORDS.append(word)
        return found


@lru_cache(maxsize=8192)
def paper_words(paper: Paper) -> tuple[np.ndarray, np.ndarray]:
    """A paper's words (as numbers, in order of first use) and how often each is used, the title counted
    twice. Callers must not change the arrays."""
    title, abstract = paper_stems(paper)
    counts = Counter(title)
    counts.update(title)
    counts.update(abstract)
    try:
        ids = list(map(_WORD_IDS.__getitem__, counts))  # in C when every word is known, as most are
    except KeyError:
        ids = [_word_id(w) for w in counts]
    return np.array(ids, dtype=np.int64), np.fromiter(counts.values(), dtype=float, count=len(counts))


def _count(stemmed: tuple[tuple[str, ...], tuple[str, ...]], term: str) -> int:
    """How often a paper uses a word or an adjacent pair ('analog_circuit'), the title counted twice: as
    paper_terms counts it, without building every pair of the paper."""
    title, abstract = stemmed
    if "_" not in term:
        return 2 * title.count(term) + abstract.count(term)
    first, second = term.split("_", 1)
    return 2 * _adjacent(title, first, second) + _adjacent(abstract, first, second)


def _adjacent(sequence: tuple[str, ...], first: str, second: str) -> int:
    found, at = 0, -1
    last = len(sequence) - 1
    while True:
        try:
            at = sequence.index(first, at + 1)
        except ValueError:
            return found
        found += at < last and sequence[at + 1] == second


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

    # Each word's idf by its number (_WORD_IDS), grown as words are seen.
    _by_id: list[np.ndarray] = field(default_factory=list, compare=False, repr=False)

    @cached_property
    def weights(self) -> Mapping[str, float]:
        """Each term's idf in the sample, worked out once."""
        if self.idf is not None:
            return self.idf
        return {t: idf(d, self.docs) for t, d in self.df.items()}

    def word_idf(self, ids: np.ndarray) -> np.ndarray:
        """The idf of each of these words (by number); a word the sample lacks is the rarest."""
        known = self._by_id[0] if self._by_id else np.zeros(0)
        if len(known) < len(_WORDS):
            get, rarest = self.weights.get, idf(0, self.docs)
            known = np.concatenate([known, [get(w, rarest) for w in _WORDS[len(known) :]]])
            self._by_id[:] = [known]
        return known[ids]


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


def _near(stemmed: tuple[tuple[str, ...], tuple[str, ...]], words: Sequence[str]) -> bool:
    """Whether a paper holds all these words within a few words of one another (title or abstract)."""
    wanted = set(words)
    for sequence in stemmed:
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
    stemmed = [paper_stems(p) for p in neighbours]
    counts = [{t: c for t in own if (c := _count(st, t))} for st in stemmed]
    uses = [sum(weights.get(t, rarest) * c / (c + 1.2) for t, c in held.items()) for held in counts]
    words = [t for t in own if "_" not in t]
    pairs = [t for t in own if "_" in t]
    if pairs:
        # A paper holding the phrase's words far apart (the fallback when few use it as written) may use
        # each in another sense: "forecasts" of "inflation" in cosmology are not inflation forecasting.
        uses = [
            use if all(t in held for t in pairs) or _near(st, words) else use * APART
            for use, held, st in zip(uses, counts, stemmed, strict=True)
        ]
    if not any(uses):
        uses = [1.0] * len(neighbours)
    terms_, cohesion = _centroid(neighbours, np.array(uses), words, vocabulary)
    categories: defaultdict[str, float] = defaultdict(float)  # weighted uses: fractional counts
    for paper, use in zip(neighbours, uses, strict=True):
        for i, category in enumerate(paper.categories):
            # The primary category says most about where a paper belongs.
            categories[category] += use * (1.0 if i == 0 else 0.5)
    total = sum(categories.values())
    return PhraseProfile(
        phrase,
        terms_,
        cohesion,
        {c: v / total for c, v in sorted(categories.items(), key=lambda cv: cv[1], reverse=True)[:10]} if total else {},
        len(neighbours),
    )


def _centroid(
    neighbours: Sequence[Paper], uses: np.ndarray, own: Sequence[str], vocabulary: Vocabulary
) -> tuple[dict[str, float], float]:
    """The PROFILE_TERMS strongest words of the neighbours' TF-IDF vectors (unit, damped counts, words
    only) summed by use, the phrase's own words left out (the lexical score counts them already), as a unit
    vector; and how close the neighbours sit to it, by use."""
    held = [paper_words(p) for p in neighbours]
    ids = np.concatenate([w for w, _ in held])
    paper = np.repeat(np.arange(len(held)), [len(w) for w, _ in held])
    raw = (1 + np.log(np.concatenate([c for _, c in held]))) * vocabulary.word_idf(ids)
    norm = np.sqrt(np.bincount(paper, raw * raw, minlength=len(held)))
    values = raw / np.where(norm > 0, norm, 1.0)[paper]
    words, first, where = np.unique(ids, return_index=True, return_inverse=True)
    summed = np.bincount(where, values * uses[paper], minlength=len(words))
    # What the neighbours share says what the phrase means; a word of one paper only says what that paper is about.
    centroid = summed * np.bincount(where, minlength=len(words)) / len(held)
    mine = [_WORD_IDS[w] for w in own if w in _WORD_IDS]
    candidates = np.flatnonzero(~np.isin(words, mine))
    # Strongest first; among equals the word met first, as a stable sort of the neighbours' words would.
    strongest = candidates[np.lexsort((first[candidates], -centroid[candidates]))][:PROFILE_TERMS]
    top = centroid[strongest]
    length = math.sqrt(float(top @ top))
    if not length:
        return {}, 0.0
    top = top / length
    weight = np.zeros(len(words))
    weight[strongest] = top
    closeness = np.bincount(paper, weight[where] * values, minlength=len(held))
    return (
        dict(zip([_WORDS[w] for w in words[strongest].tolist()], top.tolist(), strict=True)),
        float(uses @ closeness) / float(uses.sum()),
    )
