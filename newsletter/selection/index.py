"""The candidate papers of one issue, analysed once and shared by every reader's ranking.

Each paper's terms, TF-IDF vector and postings, worked out once per issue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from newsletter.models import Paper
from newsletter.trending import trending_score
from newsletter.words import EMPTY_VOCABULARY, Vocabulary, analyse, idf, paper_terms, tfidf

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class Doc:
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
        self.docs: list[Doc] = []
        for paper, counts in analysed:
            length = float(sum(c for t, c in counts.items() if "_" not in t))
            self.docs.append(
                Doc(
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
