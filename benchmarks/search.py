"""Full-text search: what the project adds on top of the database's own index, and what the index costs ingest.

Targets (issue "Trending and search"): a search over 200,000 stored papers answers within 5x the same query
run directly against the full-text index; indexing 10,000 new papers adds at most 1.5x to their ingest
time. Both on SQLite (FTS5) and, when it answers, PostgreSQL (tsvector + GIN); interleaved rounds, min and
median printed.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import databases, hf_feed
from newsletter.models import Paper
from newsletter.query import parse
from newsletter.sources import hf_daily
from newsletter.store import Database, PaperSearch, PaperStore

ROOT = Path(__file__).resolve().parent.parent
STORED = 200_000
NEW = 10_000
ROUNDS = 5
QUERIES = ("circuit", '"transformer circuits"', "circuits -analog", "protein OR folding", "sparse attention heads")
# The same queries as the database would take them with no project code around: its own query syntax.
FTS5 = {
    "circuit": "circuit",
    '"transformer circuits"': '"transformer circuits"',
    "circuits -analog": "circuits NOT analog",
    "protein OR folding": "protein OR folding",
    "sparse attention heads": "sparse attention heads",
}
DIRECT_SQLITE = "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :q ORDER BY rank LIMIT 20"
DIRECT_PG = (
    "SELECT id FROM papers WHERE search @@ websearch_to_tsquery('english', :q) "
    "ORDER BY ts_rank_cd(search, websearch_to_tsquery('english', :q)) DESC LIMIT 20"
)
WORDS = [
    "circuit",
    "circuits",
    "transformer",
    "attention",
    "heads",
    "sparse",
    "analog",
    "protein",
    "folding",
    "graph",
    "neural",
    "network",
    "model",
    "learning",
    "data",
    "training",
    "language",
    "vision",
    "robot",
    "policy",
    "quantum",
    "error",
    "correction",
    "diffusion",
    "kernel",
    "memory",
    "optimization",
    "theory",
    "bound",
    "sample",
    "efficient",
    "scalable",
    "benchmark",
    "dataset",
    "evaluation",
    "alignment",
    "reasoning",
]


def corpus(n: int, seed: int = 7) -> list[Paper]:
    """Papers over a few hundred days with Zipf-ish word use, so common words match thousands of papers."""
    rng = random.Random(seed)
    filler = [f"term{k}" for k in range(5000)]
    start = date(2025, 1, 1)

    def text(words: int) -> str:
        return " ".join(rng.choice(WORDS) if rng.random() < 0.15 else rng.choice(filler) for _ in range(words))

    return [
        Paper(
            id=f"{2500 + i // 90000:04d}.{i % 90000:05d}",
            title=text(10),
            abstract=text(150),
            authors=(f"Author {rng.randrange(50_000)}", f"Author {rng.randrange(50_000)}"),
            announced=start + timedelta(days=i % 600),
            upvotes=rng.randrange(100) if rng.random() < 0.3 else None,
            sources=("arxiv",),
        )
        for i in range(n)
    ]


def drop_index(db: Database) -> None:
    """The schema without the full-text index: what ingest costs when nothing is indexed."""
    with db.engine.begin() as conn:
        if db.is_postgresql:
            conn.execute(sa.text("DROP INDEX ix_papers_search"))
            conn.execute(sa.text("ALTER TABLE papers DROP COLUMN search"))
        else:
            for name in ("papers_fts_insert", "papers_fts_delete", "papers_fts_update"):
                conn.execute(sa.text(f"DROP TRIGGER {name}"))
            conn.execute(sa.text("DROP TABLE papers_fts"))


def ingest_cost(label: str, make_db: Callable[[], tuple[str, Callable[[], None]]]) -> None:
    data = hf_feed(NEW)
    times: dict[str, list[float]] = {"without index": [], "with index": []}
    for _ in range(ROUNDS):
        for indexed in (False, True):
            url, cleanup = make_db()
            db = Database(url, str(ROOT / "migrations"))
            db.upgrade()
            if not indexed:
                drop_index(db)
            started = time.perf_counter()  # ingest = parse + store, as `ingest --file` does it
            PaperStore(db).upsert(hf_daily.parse(data, "hf").papers)
            times["with index" if indexed else "without index"].append(time.perf_counter() - started)
            db.dispose()
            cleanup()
    base = statistics.median(times["without index"])
    for step, values in times.items():
        median = statistics.median(values)
        target = "<= 1.5" if step == "with index" else ""
        print(
            f"{label:11} {'ingest ' + str(NEW) + ' new, ' + step:38} {min(values):8.4f} {median:9.4f} "
            f"{median / base:8.2f} {target:>7}"
        )


def search_cost(label: str, make_db: Callable[[], tuple[str, Callable[[], None]]], papers: list[Paper]) -> None:
    url, cleanup = make_db()
    db = Database(url, str(ROOT / "migrations"))
    db.upgrade()
    store = PaperStore(db)
    for start in range(0, len(papers), 20_000):
        store.upsert(papers[start : start + 20_000])
    with db.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    search = PaperSearch(db)
    direct_sql = sa.text(DIRECT_PG if db.is_postgresql else DIRECT_SQLITE)
    for query in QUERIES:
        parsed = parse(query)
        direct_q = query if db.is_postgresql else FTS5[query]
        project, direct = [], []
        hits = len(search.search(parsed, limit=20))
        for _ in range(ROUNDS):
            started = time.perf_counter()
            with db.engine.connect() as conn:
                conn.execute(direct_sql, {"q": direct_q}).all()
            direct.append(time.perf_counter() - started)
            started = time.perf_counter()
            search.search(parsed, limit=20)
            project.append(time.perf_counter() - started)
        ratio = statistics.median(project) / statistics.median(direct)
        print(
            f"{label:11} {'search ' + query:38} {min(project) * 1000:7.2f}ms {statistics.median(project) * 1000:7.2f}ms"
            f" {ratio:8.2f} {'<= 5':>7}  (direct median {statistics.median(direct) * 1000:.2f} ms, {hits} shown)"
        )
    db.dispose()
    cleanup()


def main() -> None:
    print(f"\n== search: {STORED} stored papers, {len(QUERIES)} queries x {ROUNDS} rounds; ingest of {NEW} new papers")
    print(f"{'database':11} {'step':38} {'min':>8} {'median':>9} {'ratio':>8} {'target':>7}")
    papers = corpus(STORED)
    for label, make_db in databases():
        ingest_cost(label, make_db)
        search_cost(label, make_db, papers)


if __name__ == "__main__":
    main()
