"""What phrases mean in the stored papers: top-k neighbours of a phrase from the full-text index, and a
sample of the papers for word rarity. Used by the pipeline to hand selection.py its PhraseProfiles.

Every stored paper informs the ranker (background imports, past announcements). Retrieval asks the index
for the phrase as written first (the papers that use it as a whole), then for all of its words, and takes
the best `k` by the index's own relevance: both are selective queries, so no lookup ranks the whole corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select

from newsletter.meaning import STOPWORDS, PhraseProfile, Vocabulary, profile_from
from newsletter.models import Paper
from newsletter.query import Query
from newsletter.store.db import Database
from newsletter.store.papers import to_paper
from newsletter.store.search import PaperSearch
from newsletter.store.tables import PaperRow

NEIGHBOURS = 50
ENOUGH = 3
SAMPLE = 4000  # papers read for word rarity: enough for stable weights, a second's work once per process


def query_words(phrase: str) -> tuple[str, ...]:
    """The words the index is asked for, function words left out (the index stems them itself)."""
    words = tuple(re.findall(r"[a-z0-9]+", phrase.lower()))
    return tuple(w for w in words if w not in STOPWORDS) or words


class Background:
    """Phrase profiles and word rarity from the stored papers, worked out once per phrase and day and kept
    for the life of the process (a send asks for the same few hundred phrases for many thousand readers)."""

    def __init__(self, db: Database, neighbours: int = NEIGHBOURS, sample: int = SAMPLE) -> None:
        self.db = db
        self.search = PaperSearch(db)
        self.k = neighbours
        self.sample_size = sample
        self._vocabulary: Vocabulary | None = None
        self._profiles: dict[tuple[str, date], PhraseProfile | None] = {}

    def neighbours(self, phrase: str) -> list[Paper]:
        """The stored papers that use the phrase most: as written first, then with all of its words."""
        words = query_words(phrase)
        if not words:
            return []
        found: dict[str, Paper] = {}
        queries = [Query(phrase, ((words,),), ())]
        if len(words) > 1:
            queries.append(Query(phrase, tuple(((w,),) for w in words), ()))
        for query in queries:
            for hit in self.search.search(query, limit=self.k):
                found.setdefault(hit.paper.id, hit.paper)
            # Papers using the phrase as written say what it means; its words apart only when those are few.
            if len(found) >= ENOUGH:
                break
        return list(found.values())[: self.k]

    def sample(self) -> list[Paper]:
        """An evenly spaced, deterministic sample of the stored papers (every n-th by row id)."""
        with self.db.transaction() as session:
            total, top = session.execute(select(func.count(), func.max(PaperRow.id))).one()
            if not total:
                return []
            step = max(1, (top or 0) // self.sample_size)
            rows = session.scalars(select(PaperRow).where(PaperRow.id % step == 0).limit(self.sample_size))
            return [to_paper(row) for row in rows]

    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = Vocabulary.of(self.sample())
        return self._vocabulary

    def profiles(self, phrases: Iterable[str], day: date) -> dict[str, PhraseProfile]:
        """Profiles of these phrases (those the stored papers say anything about), cached per phrase and day."""
        result: dict[str, PhraseProfile] = {}
        for phrase in phrases:
            key = (phrase, day)
            if key not in self._profiles:
                self._profiles[key] = profile_from(phrase, self.neighbours(phrase), self.vocabulary())
            profile = self._profiles[key]
            if profile is not None:
                result[phrase] = profile
        return result
