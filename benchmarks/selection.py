"""Choosing papers for 100,000 readers with the 100k-paper background, per reader, against composing their mail.

Target (issue 14): choosing costs at most 0.2x composing the reader's mail (the digests of the first 1,000
readers, real papers and reasons, each composed once by a Composer that has composed one other, as a send
composes them). What each phrase means is worked out once per distinct phrase and day (Meanings.profiles,
kept), the batch analysed once, then the readers are ranked a batch at a time, as a send ranks them.
Everything is counted: reading the shipped model, every profile, the analysis of the batch and every reader's
ranking. The batch is 1,000 real papers of the background (every stored paper, announced or not, informs the
ranker); 200 distinct phrases are the most common adjacent word pairs of real titles (data, not a list), each
reader having one to three of them.

Until 2026-12-01 this composed one digest of ten made-up papers (a one-line abstract each) fifty times: 0.12
ms, a sixth of composing the readers' own digests (0.74 ms), against which choosing was 0.25x.
"""

from __future__ import annotations

import itertools
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import CORPUS, background_db
from newsletter import learned, words
from newsletter.config import load_settings
from newsletter.meanings import Meanings
from newsletter.message import Composer
from newsletter.models import Digest, Paper, Preferences, Subscriber
from newsletter.pipeline import Context
from newsletter.selection import Index, Reader, rank_many
from newsletter.sources.arxiv_metadata import batches
from newsletter.store import Background, PaperStore
from newsletter.words import analyse

BATCH = 1000
PHRASES = 200
READERS = (100_000,)
ROUNDS = 3
SEND_BATCH = 1000  # readers per batch of a send (SubscriberStore.due)
COMPOSED = 1000  # readers whose mail is composed
DAY = date(2026, 11, 24)


def phrases(papers: list[Paper]) -> list[str]:
    pairs: Counter[str] = Counter()
    for paper in papers:
        words = [w for _, w in analyse(paper.title) if not w.isdigit()]
        pairs.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return [p for p, _ in pairs.most_common(PHRASES)]


def readers(n: int, pool: list[str], rng: random.Random) -> list[Subscriber]:
    return [
        Subscriber(
            id=i,
            email=f"r{i}@example.com",
            max_items=10,
            preferences=Preferences(topics=tuple(rng.sample(pool, rng.randint(1, 3)))),
        )
        for i in range(n)
    ]


def their_mail(background: Meanings, batch: list[Paper], people: list[Subscriber]) -> list[Digest]:
    """The digests these readers get from the batch: what a send composes, real papers and reasons."""
    index = Index(batch, background.vocabulary())
    profiles = background.profiles(dict.fromkeys(t for p in people for t in p.preferences.topics), DAY)
    picks = rank_many([Reader(p) for p in people], index, profiles=profiles)
    return [Digest(p, DAY, tuple(mine), DAY, DAY, len(batch)) for p, mine in zip(people, picks, strict=True) if mine]


def choose(background: Meanings, batch: list[Paper], people: list[Subscriber]) -> tuple[float, float]:
    """Seconds for what a day costs once (word rarity, the batch, every profile; a fresh process keeps
    nothing yet) and for the readers themselves, per reader."""
    learned.forget()  # a new process reads the shipped model (word rarity, profiles) once
    for kept in (words.paper_stems, words.paper_terms, words.paper_words):
        kept.cache_clear()  # and analyses each paper it meets once
    started = time.perf_counter()
    index = Index(batch, background.vocabulary())
    background.profiles(dict.fromkeys(t for p in people for t in p.preferences.topics), DAY)
    once = time.perf_counter() - started
    cache: dict = {}
    started = time.perf_counter()
    for start in range(0, len(people), SEND_BATCH):  # as a send ranks them: a batch of readers at a time
        group = people[start : start + SEND_BATCH]
        profiles = background.profiles(dict.fromkeys(t for p in group for t in p.preferences.topics), DAY)
        rank_many([Reader(p) for p in group], index, topic_scores=cache, profiles=profiles)
    return once / len(people), (time.perf_counter() - started) / len(people)


def main() -> None:
    path = background_db(set())
    if path is None:
        print("\n== selection: skipped, the shared corpus is not there")
        return
    url = f"sqlite:///{path}"
    db = Context.open(load_settings(env={"NEWSLETTER_DATABASE_URL": url}), migrate=False).db
    db.upgrade()  # a background cached by an older schema is brought up to date
    sample = [p for i, p in enumerate(p for b in batches(CORPUS) for p in b.papers) if i % 25 == 0]
    batch = sample[:: max(1, len(sample) // BATCH)][:BATCH]
    pool = phrases(sample)
    rng = random.Random(7)
    people = {n: readers(n, pool, rng) for n in READERS}
    settings = load_settings(env={})
    # Composing their mail: the digests of the first readers, each once, as a send composes them (papers of
    # the batch, real abstracts and reasons; pieces shared between readers are made once, as in a send).
    *mail, warm_up = their_mail(Meanings(Background(db).neighbours), batch, people[READERS[0]][: COMPOSED + 1])
    results: dict[str, list[float]] = {"compose their mail": []}
    for n in READERS:
        results[f"choose, {n:,} readers, all in"] = []
        results["  of which once a day"] = []
        results["  of which the readers"] = []
    for _ in range(ROUNDS):
        composer = Composer(settings)  # a send's: what it shares between readers is made as it goes
        composer.compose(warm_up)  # its templates compiled, as for all but the first reader of a send
        started = time.perf_counter()
        for digest in mail:
            composer.compose(digest)
        results["compose their mail"].append((time.perf_counter() - started) / len(mail))
        for n in READERS:
            meanings = Meanings(Background(db).neighbours)  # nothing kept from the last round
            once, each = choose(meanings, batch, people[n])
            results[f"choose, {n:,} readers, all in"].append(once + each)
            results["  of which once a day"].append(once)
            results["  of which the readers"].append(each)
    compose = statistics.median(results["compose their mail"])
    print(
        f"\n== selection: {len(batch)} papers against a background of {PaperStore(db).count():,},"
        f" {len(pool)} distinct phrases, {ROUNDS} rounds (ms per reader; ratios of medians)"
    )
    print(f"{'step':34} {'min ms':>8} {'median ms':>10} {'x compose':>10}  target")
    for step, values in results.items():
        median = statistics.median(values)
        target = "<= 0.2x compose" if step.startswith("choose") else ""
        print(f"{step:34} {min(values) * 1000:8.3f} {median * 1000:10.3f} {median / compose:10.3f}  {target}")


if __name__ == "__main__":
    main()
