"""What phrases mean in the stored papers: top-k neighbours of a phrase from the full-text index, and a
sample of the papers for word rarity. Used by the pipeline to hand selection.py its PhraseProfiles.

Every stored paper informs the ranker (background imports, past announcements). Retrieval asks the index
for the phrase as written (the papers that use it as a whole), the newest `k` first, so the index stops
after `k` instead of ranking every match of a common phrase ("language models": thousands); only when
fewer than a few papers use the phrase as written does it ask for all of its words, best first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select, text

from newsletter.meaning import STOPWORDS, PhraseProfile, Vocabulary, profile_from
from newsletter.models import Paper
from newsletter.query import Query
from newsletter.store.db import Database
from newsletter.store.papers import paper_columns, paper_from_mapping, paper_types, to_paper
from newsletter.store.search import PaperSearch, fts5_match, tsquery_sql
from newsletter.store.tables import PaperRow

NEIGHBOURS = 30  # more say no more on the dev set's tune split, and each costs time once per phrase and day
ENOUGH = 3
SAMPLE = 4000  # papers read for word rarity: enough for stable weights, a second's work once per process


def query_words(phrase: str) -> tuple[str, ...]:
    """The words the index is asked for, function words left out (the index stems them itself)."""
    words = tuple(re.findall(r"[a-z0-9]+", phrase.lower()))
    return tuple(w for w in words if w not in STOPWORDS) or words


def as_written(phrase: str) -> tuple[str, ...]:
    """The phrase's words in order, function words inside it kept: "agent-based modeling" without "based"
    would ask for "agent modeling", another phrase. Only those at its ends go (they bind nothing)."""
    words = list(re.findall(r"[a-z0-9]+", phrase.lower()))
    while len(words) > 1 and words[0] in STOPWORDS:
        words.pop(0)
    while len(words) > 1 and words[-1] in STOPWORDS:
        words.pop()
    return tuple(words)


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
        found = {p.id: p for p in self._newest(Query(phrase, ((as_written(phrase),),), ()))}
        # Papers using the phrase as written say what it means; its words apart only when those are few.
        if len(found) < ENOUGH and len(words) > 1:
            for hit in self.search.search(Query(phrase, tuple(((w,),) for w in words), ()), limit=self.k):
                found.setdefault(hit.paper.id, hit.paper)
        return list(found.values())[: self.k]

    def _newest(self, query: Query) -> list[Paper]:
        """The newest stored papers matching the query; the index walks its rows newest first and stops."""
        columns = paper_columns("p")
        if self.db.is_postgresql:
            tsquery, params = tsquery_sql(query)
            sql = f"SELECT {columns} FROM papers p WHERE p.search @@ {tsquery} ORDER BY p.id DESC LIMIT :k"
        else:
            params = {"match": fts5_match(query)}
            sql = f"""
                SELECT {columns} FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid
                WHERE papers_fts MATCH :match ORDER BY papers_fts.rowid DESC LIMIT :k"""
        with self.db.transaction() as session:
            rows = session.execute(text(sql).columns(**paper_types()), {**params, "k": self.k}).mappings()
            return [paper_from_mapping(row) for row in rows]

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
