"""The stored papers that use a phrase most (its neighbours), from the full-text index.

meanings.py learns from them what a phrase means.

Every stored paper counts (background imports, past announcements). Retrieval asks the index for the phrase
as written (the papers that use it as a whole), the newest `k` first, so the index stops after `k` instead of
ranking every match of a common phrase ("language models": thousands); only when fewer than a few papers use
the phrase as written does it ask for all of its words, best first.
"""

from __future__ import annotations

from sqlalchemy import text

from newsletter.models import Paper
from newsletter.query import Query
from newsletter.stopwords import STOPWORDS, WORD
from newsletter.store.db import Database
from newsletter.store.papers import paper_columns, paper_from_mapping, paper_types
from newsletter.store.search import PaperSearch, fts5_match, tsquery_sql

NEIGHBOURS = 30  # more say no more on the dev set's tune split, and each costs time once per phrase and day
ENOUGH = 3


def query_words(phrase: str) -> tuple[str, ...]:
    """The words the index is asked for, function words left out (the index stems them itself); none for a
    phrase of function words alone ("the", "new results"), which every stored paper uses and none explains."""
    return tuple(w for w in WORD.findall(phrase.lower()) if w not in STOPWORDS)


def as_written(phrase: str) -> tuple[str, ...]:
    """The phrase's words in order, function words inside it kept: "agent-based modeling" without "based"
    would ask for "agent modeling", another phrase. Only those at its ends go (they bind nothing)."""
    words = WORD.findall(phrase.lower())
    while len(words) > 1 and words[0] in STOPWORDS:
        words.pop(0)
    while len(words) > 1 and words[-1] in STOPWORDS:
        words.pop()
    return tuple(words)


class Background:
    """The stored papers as the ranker reads them: a phrase's neighbours."""

    def __init__(self, db: Database, neighbours: int = NEIGHBOURS) -> None:
        self.db = db
        self.search = PaperSearch(db)
        self.k = neighbours

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
