"""`make eval`: ranking quality on the development set of real papers (benchmarks/data/relevance_dev.json).

In one run: plain BM25 (title twice + abstract, the baseline) and the ranker, cold (a fresh install) and with
the shared corpus imported as background through the product's own import (dev-set papers left out), on the
three splits. Either way the batch is stored before ranking, as `ingest` stores it before a `send`: with the
background, in a copy of it, after it. Each split's papers are one batch, given as Hugging Face JSON (no
categories) through the real parser; with --per-word each word's papers are also scored as a batch of their
own, as the outside check does (one batch of 46-137 papers per word). Per persona: precision of the first five
picks and how many of them belong to another field of the persona's word (off-field); per split: mean, worst
and off-field total. The held-out and fresh splits are the headline and are never tuned on. Exits 1 when the
ranker is below BM25 on a split.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import CORPUS, background_db
from newsletter.meanings import Meanings
from newsletter.models import Paper, Preferences, Subscriber
from newsletter.selection import Index, rank
from newsletter.sources import hf_daily
from newsletter.store.background import Background
from newsletter.store.papers import PaperStore
from newsletter.words import analyse

DATA = Path(__file__).resolve().parent / "data" / "relevance_dev.json"
DAY = date(2026, 11, 24)
TOP = 5

Ranker = Callable[[Sequence[str]], list[str]]


def as_hf_json(papers: list[dict]) -> bytes:
    return json.dumps(
        [
            {
                "paper": {
                    "id": p["id"],
                    "title": p["title"],
                    "summary": p["abstract"],
                    "authors": [{"name": a.strip()} for a in p["authors"].split(",") if a.strip()],
                    "submittedOnDailyAt": "2026-11-24T00:00:00.000Z",
                    "upvotes": 0,
                }
            }
            for p in papers
        ]
    ).encode()


class PlainBM25:
    """The baseline: Okapi BM25 over the title twice plus the abstract, the phrase's words apart."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.ids = [p.id for p in papers]
        self.docs = [Counter(s for s, _ in analyse(f"{p.title} {p.title} {p.abstract}")) for p in papers]
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.avg = sum(sum(d.values()) for d in self.docs) / n

    def __call__(self, topics: Sequence[str]) -> list[str]:
        best: dict[str, float] = {}
        for topic in topics:
            terms = list(dict.fromkeys(s for s, _ in analyse(topic)))
            for pid, doc in zip(self.ids, self.docs, strict=True):
                norm = 1.2 * (0.25 + 0.75 * sum(doc.values()) / self.avg)
                score = sum(self.idf[t] * doc[t] * 2.2 / (doc[t] + norm) for t in terms if doc.get(t))
                best[pid] = max(best.get(pid, 0.0), score)
        return [pid for pid, s in sorted(best.items(), key=lambda kv: -kv[1]) if s > 0][:TOP]


def ranker(papers: Sequence[Paper], background: Background) -> Ranker:
    """The product's ranking: the batch analysed with the store's word rarity, each phrase's profile from
    the store (papers as the product stores them)."""
    meanings = Meanings(background.neighbours)
    index = Index(papers, meanings.vocabulary())
    cache: dict = {}

    def run(topics: Sequence[str]) -> list[str]:
        profiles = meanings.profiles(topics, DAY)
        reader = Subscriber(id=1, email="p@example.com", max_items=TOP, preferences=Preferences(topics=tuple(topics)))
        return [p.paper.id for p in rank(reader, index, topic_scores=cache, profiles=profiles)]

    return run


@dataclass(frozen=True)
class Row:
    persona: str
    precision: float
    off_field: int


def score(personas: list[dict], field_of: dict[str, str], fields_of: dict[str, set[str]], run: Ranker) -> list[Row]:
    rows = []
    for persona in personas:
        picked = run(persona["topics"])[:TOP]
        labels = [field_of[p] for p in picked]
        hits = sum(1 for f in labels if f == persona["field"])
        others = fields_of[persona["word"]] - {persona["field"]}
        rows.append(Row(persona["name"], hits / TOP, sum(1 for f in labels if f in others)))
    return rows


def summary(rows: list[Row]) -> tuple[float, float, int]:
    return statistics.mean(r.precision for r in rows), min(r.precision for r in rows), sum(r.off_field for r in rows)


def open_background(url: str) -> Background:
    from newsletter.config import load_settings
    from newsletter.pipeline import Context

    context = Context.open(load_settings(env={"NEWSLETTER_DATABASE_URL": url}), migrate=False)
    context.db.upgrade()  # a background cached by an older schema is brought up to date
    return Background(context.db)


SPLITS = ("heldout", "fresh", "tune")
SYSTEMS = ("plain BM25", "ranker, cold", "ranker, background")


@dataclass(frozen=True)
class Batch:
    """One batch of papers as a feed gives them, its personas and each system's rows for them."""

    papers: int
    personas: list[dict]
    results: dict[str, list[Row]]


def stored(papers: Sequence[Paper], folder: Path, background: Path | None = None) -> Background:
    """The store as a send finds it: the batch stored as the daily ingest stores it, in a new database (a fresh
    install) or in a copy of the imported background (the batch's papers come after it, as the newest)."""
    # numbered by the databases alone: SQLite's -wal and -shm files come and go, and counting them reused names
    path = folder / f"store-{len(list(folder.glob('store-*.db')))}.db"
    if background is not None:
        shutil.copyfile(background, path)
    store = open_background(f"sqlite:///{path}")
    PaperStore(store.db).upsert(papers, today=DAY)
    return store


def run_batch(words: Sequence[str], data: dict, background: Path | None, scratch: Path) -> Batch:
    """Score every system on the papers of these words, given together as one feed's batch."""
    papers = [p for p in data["papers"] if p["word"] in words]
    personas = [p for p in data["personas"] if p["word"] in words]
    field_of = {p["id"]: p["field"] for p in papers}
    fields_of_word: dict[str, set[str]] = {}
    for p in papers:
        if p["field"] != "other":
            fields_of_word.setdefault(p["word"], set()).add(p["field"])
    batch = hf_daily.parse(as_hf_json(papers), "dev set").papers
    stores = {"ranker, cold": stored(batch, scratch)}
    if background is not None:
        stores["ranker, background"] = stored(batch, scratch, background)
    systems: dict[str, Ranker] = {"plain BM25": PlainBM25(batch)} | {n: ranker(batch, s) for n, s in stores.items()}
    results = {name: score(personas, field_of, fields_of_word, run) for name, run in systems.items()}
    for store in stores.values():
        store.db.dispose()
    for leftover in scratch.glob("store-*"):
        leftover.unlink()  # a copy of the background is 300 MB
    return Batch(len(papers), personas, results)


def merged(batches: Sequence[Batch]) -> Batch:
    """Batches scored apart, read as one table: their personas and rows end to end."""
    results = {name: [row for b in batches for row in b.results[name]] for name in batches[0].results}
    return Batch(sum(b.papers for b in batches), [p for b in batches for p in b.personas], results)


def report(where: str, batch: Batch, how: str, corpus: Path) -> bool:
    """Print the personas' table and the systems' summary; True when a ranker is below plain BM25."""
    print(f"\n== {where}: {how}, {len(batch.personas)} personas")
    print(f"{'persona (P@5, off-field)':48}" + "".join(f"{n:>20}" for n in batch.results))
    for i, persona in enumerate(batch.personas):
        cells = "".join(f"{r[i].precision:>14.2f} off {r[i].off_field}" for r in batch.results.values())
        print(f"{persona['name'][:48]:48}{cells}")
    print(f"{'system':22} {'mean':>6} {'worst':>6} {'off-field':>10}")
    for name in SYSTEMS:
        if name not in batch.results:
            print(f"{name:22} skipped: corpus {corpus} not found")
            continue
        mean, worst, off = summary(batch.results[name])
        print(f"{name:22} {mean:6.3f} {worst:6.2f} {off:10d}")
    base = summary(batch.results["plain BM25"])[0]
    below = [n for n in SYSTEMS[1:] if n in batch.results and summary(batch.results[n])[0] < base]
    for name in below:
        print(f"FAIL: {name} is below plain BM25 on {where}")
    return bool(below)


def report_words(words: Sequence[str], batches: Sequence[Batch]) -> None:
    names = "".join(f"{n:>20}" for n in batches[0].results)
    print(f"{'word (mean P@5 in its own batch)':36} {'papers':>6} {'personas':>8}{names}")
    for word, batch in zip(words, batches, strict=True):
        means = "".join(f"{summary(rows)[0]:>20.3f}" for rows in batch.results.values())
        print(f"{word:36} {batch.papers:6d} {len(batch.personas):8d}{means}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--background-db", type=Path, help="an already imported background (a SQLite file)")
    parser.add_argument("--split", choices=SPLITS, action="append", help="only this split (tuning looks at tune only)")
    parser.add_argument("--per-word", action="store_true", help="also score each word's papers as a batch of their own")
    args = parser.parse_args()
    data = json.loads(args.data.read_text(encoding="utf-8"))
    background = args.background_db or background_db({p["id"] for p in data["papers"]}, args.corpus)
    failed = False
    scratch = Path(tempfile.mkdtemp(prefix="eval-"))
    for split in args.split or SPLITS:
        words = [w for w, about in data["words"].items() if about["split"] == split]
        whole = run_batch(words, data, background, scratch)
        failed |= report(split, whole, f"{len(words)} words, {whole.papers} papers in one batch", args.corpus)
        if args.per_word:
            apart = [run_batch([word], data, background, scratch) for word in words]
            sizes = f"{min(b.papers for b in apart)}-{max(b.papers for b in apart)}"
            how = f"{len(words)} words, one batch per word of {sizes} papers"
            failed |= report(f"{split} (one batch per word)", merged(apart), how, args.corpus)
            report_words(words, apart)
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
