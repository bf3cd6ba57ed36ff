"""Text into words: stems, adjacent pairs, each paper's counts (cached), word numbers and word rarity.

Pure (no I/O), and nothing here knows any field or any word list but English function words.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from newsletter.models import Paper
from newsletter.stopwords import STOPWORDS
from newsletter.stopwords import WORD as _WORD


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
    title, abstract = paper_stems(paper)
    return _title_twice(terms(title), terms(abstract))


def _title_twice(title: Sequence[str], abstract: Sequence[str]) -> Counter[str]:
    """How often each item occurs, the title's counted twice: a word of the title says more."""
    counts = Counter(title)
    counts.update(title)
    counts.update(abstract)
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
    counts = _title_twice(*paper_stems(paper))
    try:
        ids = list(map(_WORD_IDS.__getitem__, counts))  # in C when every word is known, as most are
    except KeyError:
        ids = [_word_id(w) for w in counts]
    arrays = np.array(ids, dtype=np.int64), np.fromiter(counts.values(), dtype=float, count=len(counts))
    for array in arrays:
        array.flags.writeable = False  # shared by every caller through the cache
    return arrays


def count(stemmed: tuple[tuple[str, ...], tuple[str, ...]], term: str) -> int:
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
    """How many of `docs` papers use each term: word rarity (the shipped model's, learned from arXiv)."""

    docs: int
    df: Mapping[str, int]
    # Each term's idf when the maker has it already (the shipped model works out 100k of them at once).
    idf: Mapping[str, float] | None = field(default=None, compare=False, repr=False)

    # Each word's idf by its number (_WORD_IDS), grown as words are seen.
    _by_id: list[np.ndarray] = field(default_factory=list, init=False, compare=False, repr=False)

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
        found: np.ndarray = known[ids]
        return found


EMPTY_VOCABULARY = Vocabulary(0, {})


def idf(df: int, docs: int) -> float:
    """BM25's inverse document frequency (always positive)."""
    return math.log(1 + (docs - df + 0.5) / (df + 0.5))


def tfidf(counts: Mapping[str, int], weight: Mapping[str, float] | None, fallback: float) -> dict[str, float]:
    """A unit TF-IDF vector over the words only (pairs are for matching the phrase, not for closeness)."""
    get = (weight if weight is not None else {}).get
    damped = _DAMPED
    # The damping looked up inline: this runs for every paper of the day's batch (Index).
    vector = {
        t: (damped[c] if c < 64 else 1 + math.log(c)) * get(t, fallback) for t, c in counts.items() if "_" not in t
    }
    return unit(vector)


# 1 + log(count): a word's tenth use says less than its first (looked up for the usual small counts).
_DAMPED = tuple(1 + math.log(c) if c else 0.0 for c in range(64))


def unit(vector: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else {}


def known_ids(words: Iterable[str]) -> list[int]:
    """The numbers of those of these words that this process has met."""
    return [_WORD_IDS[w] for w in words if w in _WORD_IDS]


def names(ids: Iterable[int]) -> list[str]:
    """The words these numbers stand for."""
    return [_WORDS[i] for i in ids]
