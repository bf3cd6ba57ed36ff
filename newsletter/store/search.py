"""Full-text search over stored papers with the database's own engine: SQLite FTS5 or PostgreSQL tsvector.

Both index title, abstract and authors (migration 0006 made the index; on SQLite the store indexes new
papers a batch at a time, migrations 0010 and 0011, and triggers follow updates and deletes; on PostgreSQL
a trigger fills the column, migration 0012).
Results come by relevance (title weighs most), then by trending score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Float, text

from newsletter.models import Paper
from newsletter.query import Query
from newsletter.store.db import Database
from newsletter.store.papers import paper_columns, paper_from_mapping, paper_types


@dataclass(frozen=True)
class SearchHit:
    paper: Paper
    relevance: float  # higher is better; comparable only within one search


def fts5_match(query: Query) -> str:
    """The FTS5 MATCH expression; every word is quoted, so nothing a user types is FTS syntax."""

    def phrase(words: tuple[str, ...]) -> str:
        return '"' + " ".join(w.replace('"', '""') for w in words) + '"'

    expression = " AND ".join("(" + " OR ".join(phrase(p) for p in group) + ")" for group in query.required)
    for words in query.excluded:
        expression = f"({expression}) NOT {phrase(words)}"
    return expression


def tsquery_sql(query: Query) -> tuple[str, dict[str, str]]:
    """A tsquery built from phraseto_tsquery pieces: the words travel as parameters, never as SQL."""
    params: dict[str, str] = {}

    def piece(words: tuple[str, ...]) -> str:
        name = f"w{len(params)}"
        params[name] = " ".join(words)
        return f"phraseto_tsquery('english', :{name})"

    parts = ["(" + " || ".join(piece(p) for p in group) + ")" for group in query.required]
    parts += [f"!!{piece(words)}" for words in query.excluded]
    return "(" + " && ".join(parts) + ")", params


class PaperSearch:
    def __init__(self, db: Database) -> None:
        self.db = db

    def search(self, query: Query, since: date | None = None, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        columns = paper_columns("p")
        params: dict[str, Any] = {"limit": limit, "offset": offset, "since": since}
        since_sql = "AND p.announced >= :since" if since else ""
        if self.db.is_postgresql:
            tsquery, words = tsquery_sql(query)
            params.update(words)
            sql = f"""
                WITH q AS (SELECT {tsquery} AS q)
                SELECT {columns}, ts_rank_cd(p.search, q.q) AS relevance
                FROM papers p, q
                WHERE p.search @@ q.q {since_sql}
                ORDER BY relevance DESC, p.trending DESC NULLS LAST, p.arxiv_id DESC
                LIMIT :limit OFFSET :offset"""
        else:
            params["match"] = fts5_match(query)
            # bm25 is lower-is-better: negated so that both backends report "higher is better".
            sql = f"""
                SELECT {columns}, -bm25(papers_fts, 10.0, 3.0, 2.0) AS relevance
                FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid
                WHERE papers_fts MATCH :match {since_sql}
                ORDER BY relevance DESC, p.trending DESC, p.arxiv_id DESC
                LIMIT :limit OFFSET :offset"""
        statement = text(sql).columns(**paper_types(), relevance=Float)
        with self.db.transaction() as session:
            rows = session.execute(statement, params).mappings().all()
        return [SearchHit(paper_from_mapping(row), float(row["relevance"])) for row in rows]
