"""Ingest cost: parsing 10,000 papers alone vs parsing + upserting them (new, then all unchanged).

Targets (issue "Sources"): parse + upsert <= 3x parse alone; re-ingest of the same papers <= 1.5x parse
alone. Measured on SQLite and, when it answers, PostgreSQL, in interleaved rounds; min and median printed.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from newsletter.sources import arxiv_api, hf_daily
from newsletter.store import Database, PaperStore

ROOT = Path(__file__).resolve().parent.parent
PAPERS = 10_000
ROUNDS = 3
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def hf_feed(n: int) -> bytes:
    entries = [
        {
            "paper": {
                "id": f"2611.{i:05d}",
                "title": f"Paper {i}: circuits in   transformer language models",
                "summary": "We study sparse feature circuits.\nThe results generalise. " * 6,
                "authors": [{"name": f"Author {i} {k}"} for k in range(5)],
                "publishedAt": "2026-11-23T12:00:00.000Z",
                "submittedOnDailyAt": "2026-11-24T01:00:00.000Z",
                "upvotes": i % 97,
                "githubRepo": f"https://github.com/example/p{i}",
            },
            "numComments": i % 7,
        }
        for i in range(n)
    ]
    return json.dumps(entries).encode()


def api_feed(n: int) -> bytes:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
    )
    entry = """<entry><id>http://arxiv.org/abs/2611.{i:05d}v1</id><updated>2026-11-23T12:00:00Z</updated>
<published>2026-11-23T12:00:00Z</published><title>Paper {i}: circuits in transformer language models</title>
<summary>We study sparse feature circuits. The results generalise. We study sparse feature circuits.</summary>
<author><name>Author A{i}</name></author><author><name>Author B{i}</name></author>
<arxiv:comment>12 pages</arxiv:comment><arxiv:primary_category term="cs.LG"/>
<category term="cs.LG"/><category term="cs.AI"/></entry>"""
    body = "".join(entry.format(i=i) for i in range(n))
    return (head + f"<opensearch:totalResults>{n}</opensearch:totalResults>" + body + "</feed>").encode()


def databases() -> list[tuple[str, Callable[[], tuple[str, Callable[[], None]]]]]:
    """(label, factory) pairs; each factory makes a fresh migrated database and returns (url, cleanup)."""

    def sqlite() -> tuple[str, Callable[[], None]]:
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)

    def postgresql() -> tuple[str, Callable[[], None]]:
        engine = sa.create_engine(PG)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

        def drop() -> None:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()

        return f"{PG}?options=-csearch_path%3D{schema}", drop

    found = [("sqlite", sqlite)]
    try:
        sa.create_engine(PG).connect().close()
        found.append(("postgresql", postgresql))
    except sa.exc.OperationalError:
        print("PostgreSQL at 127.0.0.1:5432 does not answer: measuring SQLite only")
    return found


def main() -> None:
    feeds = {"hf": (hf_daily.parse, hf_feed(PAPERS)), "arxiv-api": (arxiv_api.parse, api_feed(PAPERS))}
    print(f"\n== ingest: {PAPERS} papers, {ROUNDS} interleaved rounds (seconds; ratio = median / parse alone)")
    print(f"{'format':10} {'database':11} {'step':26} {'min s':>7} {'median s':>9} {'x parse':>8} {'target':>7}")
    for fmt, (parse, data) in feeds.items():
        for label, make_db in databases():
            times: dict[str, list[float]] = {"parse alone": [], "parse + upsert (new)": [], "re-ingest (unchanged)": []}
            for _ in range(ROUNDS):
                url, cleanup = make_db()
                db = Database(url, str(ROOT / "migrations"))
                db.upgrade()
                store = PaperStore(db)
                started = time.perf_counter()
                parse(data, fmt)
                times["parse alone"].append(time.perf_counter() - started)
                started = time.perf_counter()
                counts = store.upsert(parse(data, fmt).papers)
                times["parse + upsert (new)"].append(time.perf_counter() - started)
                assert counts.new == PAPERS, counts
                started = time.perf_counter()
                counts = store.upsert(parse(data, fmt).papers)
                times["re-ingest (unchanged)"].append(time.perf_counter() - started)
                assert counts.unchanged == PAPERS, counts
                db.dispose()
                cleanup()
            base = statistics.median(times["parse alone"])
            for step, values, target in zip(times, times.values(), ("", "<= 3", "<= 1.5"), strict=True):
                median = statistics.median(values)
                ratio = median / base
                print(f"{fmt:10} {label:11} {step:26} {min(values):7.3f} {median:9.3f} {ratio:8.2f} {target:>7}")


if __name__ == "__main__":
    main()
