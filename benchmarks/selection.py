"""Selection cost per subscriber for 10,000 and 100,000 readers over 1,000 new papers, against one render.

Targets (issue "Relevance"): per subscriber at most 0.2x of rendering one email; per-subscriber cost at
100,000 at most 1.2x that at 10,000. The batch is analysed once, each distinct topic phrase scored once,
then every reader costs a few vector operations.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

from newsletter.config import load_settings
from newsletter.message import Composer
from newsletter.models import Paper, Preferences, Subscriber
from newsletter.selection import Index, TopicScores, rank
from tests.factories import make_digest, make_paper, make_subscriber

DEV = Path(__file__).resolve().parent / "data" / "relevance_dev.json"
PAPERS = 1000
ROUNDS = 3


def batch(rng: random.Random) -> list[Paper]:
    """1,000 papers made by recombining the dev set's sentences, so the vocabulary is that of real fields."""
    dev = json.loads(DEV.read_text(encoding="utf-8"))["papers"]
    sentences = [s.strip() + "." for p in dev for s in p["abstract"].split(". ") if s.strip()]
    titles = [p["title"] for p in dev]
    return [
        Paper(id=f"2612.{i:05d}", title=rng.choice(titles), abstract=" ".join(rng.sample(sentences, 4)))
        for i in range(PAPERS)
    ]


def readers(n: int, phrases: list[str], rng: random.Random) -> list[Subscriber]:
    return [
        Subscriber(
            id=i,
            email=f"r{i}@example.com",
            max_items=10,
            preferences=Preferences(topics=tuple(rng.sample(phrases, rng.randint(1, 3)))),
        )
        for i in range(n)
    ]


def per_reader(index: Index, people: list[Subscriber]) -> float:
    cache: dict[str, TopicScores] = {}
    started = time.perf_counter()
    for person in people:
        rank(person, index, topic_scores=cache)
    return (time.perf_counter() - started) / len(people)


def main() -> None:
    rng = random.Random(7)
    papers = batch(rng)
    dev = json.loads(DEV.read_text(encoding="utf-8"))
    # A realistic spread of interests: the dev personas' phrases plus variations, 200 distinct phrases.
    base = [t for p in dev["personas"] for t in p["topics"]]
    words = [w for t in base for w in t.split()]
    phrases = list(dict.fromkeys(base + [" ".join(rng.sample(words, 2)) for _ in range(400)]))[:200]
    started = time.perf_counter()
    index = Index(papers)
    index_seconds = time.perf_counter() - started
    composer = Composer(load_settings(env={}))
    digest = make_digest([make_paper() for _ in range(10)], make_subscriber())
    results: dict[str, list[float]] = {
        "render one email": [],
        "select, 10,000 readers": [],
        "select, 100,000 readers": [],
    }
    small, large = readers(10_000, phrases, rng), readers(100_000, phrases, rng)
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(50):
            composer.compose(digest)
        results["render one email"].append((time.perf_counter() - started) / 50)
        results["select, 10,000 readers"].append(per_reader(index, small))
        results["select, 100,000 readers"].append(per_reader(index, large))
    render = statistics.median(results["render one email"])
    at_10k = statistics.median(results["select, 10,000 readers"])
    print(
        f"\n== selection: {PAPERS} papers ({index_seconds:.2f}s to analyse once), {len(phrases)} distinct phrases,"
        f" {ROUNDS} rounds (ms per reader; ratios of medians)"
    )
    print(f"{'step':26} {'min ms':>8} {'median ms':>10} {'x render':>9} {'x 10k':>7}  target")
    for step, values in results.items():
        median = statistics.median(values)
        target = {"select, 100,000 readers": "<= 0.2x render, <= 1.2x 10k"}.get(step, "")
        print(
            f"{step:26} {min(values) * 1000:8.3f} {median * 1000:10.3f} {median / render:9.3f}"
            f" {median / at_10k:7.2f}  {target}"
        )


if __name__ == "__main__":
    main()
