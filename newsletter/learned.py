"""What the package knows about arXiv before anything is stored: the shipped model.

Word rarity and phrase profiles learned from ~100,000 real papers (newsletter/data/arxiv_model.npz, rebuilt by
`make model`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from newsletter.meaning import PhraseProfile
from newsletter.words import Vocabulary, analyse, phrase_terms, unit

MODEL = Path(__file__).resolve().parent / "data" / "arxiv_model.npz"
TERMS = 32  # of a profile: enough to place a paper, small enough to ship
CATEGORIES = 3


def pack_strings(strings: list[str]) -> np.ndarray:
    """Strings as one array of UTF-8 bytes, newline-separated (a fraction of the size of a string array)."""
    return np.frombuffer("\n".join(strings).encode(), dtype=np.uint8)


def _unpack(blob: np.ndarray) -> list[str]:
    return blob.tobytes().decode().split("\n") if len(blob) else []


@dataclass(frozen=True)
class Model:
    vocabulary: Vocabulary
    rows: dict[str, int]
    terms: list[str]
    top_terms: np.ndarray
    top_weights: np.ndarray
    cohesion: np.ndarray
    support: np.ndarray
    categories: list[str]
    top_categories: np.ndarray
    category_shares: np.ndarray

    def profile(self, phrase: str) -> PhraseProfile | None:
        """The phrase's profile in arXiv: the phrase itself when it is a word or a pair of words the model
        knows; a longer phrase when the model knows each of its adjacent pairs, merged, the rarer pair
        weighing more ("language models" says little of "circuits in transformer language models")."""
        stems = [s for s, _ in analyse(phrase)]
        if not stems:
            return None
        wanted = stems if len(stems) == 1 else [t for t in phrase_terms(stems) if "_" in t]
        if not all(t in self.rows for t in wanted):
            return None
        rows = [self.rows[t] for t in wanted]
        weights = [self.vocabulary.weights[t] for t in wanted]
        merged: dict[str, float] = {}
        shares: dict[str, float] = {}
        for row, weight in zip(rows, weights, strict=True):
            for term, value in zip(self.top_terms[row], self.top_weights[row], strict=True):
                if value:
                    merged[self.terms[term]] = merged.get(self.terms[term], 0.0) + weight * float(value)
            for category, share in zip(self.top_categories[row], self.category_shares[row], strict=True):
                if share:
                    name = self.categories[category]
                    shares[name] = shares.get(name, 0.0) + weight * float(share)
        total = sum(weights)
        return PhraseProfile(
            phrase,
            unit(merged),
            float(np.dot(self.cohesion[rows].astype(float), weights)) / total,
            {c: s / total for c, s in sorted(shares.items(), key=lambda cs: -cs[1])},
            int(np.min(self.support[rows])),
        )


@cache
def _terms() -> tuple[int, list[str], np.ndarray]:
    """The papers the model was learned from, its terms and their document frequencies."""
    with np.load(MODEL) as data:
        return int(data["docs"][0]), _unpack(data["terms"]), data["df"]


@cache
def vocabulary() -> Vocabulary:
    """Word rarity in arXiv, read once per process: every ranking needs it, unlike the phrase profiles (a
    third of the file, read only when a phrase asks the model)."""
    docs, terms, df = _terms()
    idf = np.log(1 + (docs - df + 0.5) / (df + 0.5))  # words.idf, for every term at once
    return Vocabulary(docs, dict(zip(terms, df.tolist(), strict=True)), dict(zip(terms, idf.tolist(), strict=True)))


@cache
def model() -> Model:
    """The shipped model with its phrase profiles, read once per process."""
    _, terms, _ = _terms()
    with np.load(MODEL) as data:
        return Model(
            vocabulary(),
            {terms[k]: row for row, k in enumerate(data["keys"].tolist())},
            terms,
            data["top_terms"],
            data["top_weights"],
            data["cohesion"],
            data["support"],
            _unpack(data["categories"]),
            data["top_categories"],
            data["category_shares"],
        )


def forget() -> None:
    """Read the model again on next use, as a new process does (benchmarks)."""
    for cached in (_terms, vocabulary, model):
        cached.cache_clear()
