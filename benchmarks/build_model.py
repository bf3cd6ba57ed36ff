"""`make model`: what the ranker knows before anything is stored (newsletter/data/arxiv_model.npz), rebuilt
from the shared corpus of real papers.

Two things, both learned from ~100,000 real arXiv records, never written by hand:
- word rarity: how many papers use each word (at least WORD_MIN of them) and each adjacent pair of words (at
  least PAIR_MIN), as words.paper_terms counts them;
- phrase profiles: for every word and pair used by at least KEY_MIN papers, the PhraseProfile the product
  would learn from a store holding the corpus (meaning.profile_from over the newest NEIGHBOURS papers that use
  it as written), cut to its TERMS strongest terms and CATEGORIES categories.

A fresh install then knows what "AI safety" or "diffusion models" mean in arXiv before it has stored a paper.
The development set's papers are left out, so `make eval` scores the shipped model on papers it never saw.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import CORPUS
from benchmarks.eval_relevance import DATA
from newsletter.learned import CATEGORIES, MODEL, TERMS, pack_strings
from newsletter.meaning import profile_from
from newsletter.models import Paper
from newsletter.sources.arxiv_metadata import batches
from newsletter.store.background import NEIGHBOURS
from newsletter.words import Vocabulary, paper_terms

WORD_MIN = 3
PAIR_MIN = 20
KEY_MIN = 50


def read(corpus: Path, left_out: set[str]) -> list[Paper]:
    papers = []
    for batch in batches(corpus):
        papers.extend(p for p in batch.papers if p.id not in left_out)
        print(f"\rread {len(papers):,} papers", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return papers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args()
    dev = {p["id"] for p in json.loads(DATA.read_text(encoding="utf-8"))["papers"]}
    papers = read(args.corpus, dev)
    df: Counter[str] = Counter()
    users: defaultdict[str, list[int]] = defaultdict(list)
    for i, paper in enumerate(papers):
        held = paper_terms(paper).keys()
        df.update(held)
        for term in held:
            users[term].append(i)
    terms = sorted(t for t, d in df.items() if d >= (PAIR_MIN if "_" in t else WORD_MIN))
    vocabulary = Vocabulary(len(papers), {t: df[t] for t in terms})
    position = {t: i for i, t in enumerate(terms)}
    keys = [t for t in terms if df[t] >= KEY_MIN and not t.replace("_", "").isdigit()]
    categories: dict[str, int] = {}
    top_terms = np.zeros((len(keys), TERMS), dtype=np.uint32)
    top_weights = np.zeros((len(keys), TERMS), dtype=np.float16)
    top_categories = np.zeros((len(keys), CATEGORIES), dtype=np.uint16)
    category_shares = np.zeros((len(keys), CATEGORIES), dtype=np.float16)
    cohesion = np.zeros(len(keys), dtype=np.float16)
    support = np.zeros(len(keys), dtype=np.uint16)
    started = time.perf_counter()
    for row, key in enumerate(keys):
        # The newest users, as a store holding the corpus in file order gives them.
        neighbours = [papers[i] for i in users[key][-NEIGHBOURS:]]
        profile = profile_from(key.replace("_", " "), neighbours, vocabulary)
        if profile is None:
            continue
        strongest = [(t, w) for t, w in profile.terms.items() if t in position][:TERMS]
        for j, (term, weight) in enumerate(strongest):
            top_terms[row, j] = position[term]
            top_weights[row, j] = weight
        for j, (name, share) in enumerate(list(profile.categories.items())[:CATEGORIES]):
            top_categories[row, j] = categories.setdefault(name, len(categories))
            category_shares[row, j] = share
        cohesion[row] = profile.cohesion
        support[row] = profile.support
        if row % 500 == 0:
            rate = (row + 1) / (time.perf_counter() - started)
            print(f"\rprofiles {row + 1:,}/{len(keys):,} ({rate:.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    np.savez_compressed(
        args.out,
        docs=np.array([len(papers)]),
        terms=pack_strings(terms),
        df=np.array([df[t] for t in terms], dtype=np.uint32),
        keys=np.array([position[k] for k in keys], dtype=np.uint32),
        top_terms=top_terms,
        top_weights=top_weights,
        cohesion=cohesion,
        support=support,
        categories=pack_strings(list(categories)),
        top_categories=top_categories,
        category_shares=category_shares,
    )
    print(
        f"{len(terms):,} terms, {len(keys):,} profiles from {len(papers):,} papers -> {args.out} "
        f"({args.out.stat().st_size:,} bytes)"
    )


if __name__ == "__main__":
    main()
