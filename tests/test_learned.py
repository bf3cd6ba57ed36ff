"""The shipped model of arXiv (newsletter/data/arxiv_model.npz): what it holds agrees with the real corpus it
was built from, and a phrase's profile is the product's own profile of the papers that use it."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from newsletter import learned
from newsletter.meaning import profile_from
from newsletter.sources.arxiv_metadata import batches
from newsletter.store.background import NEIGHBOURS
from newsletter.words import paper_terms

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "arxiv-metadata-100k.jsonl.gz"
DEV = ROOT / "benchmarks" / "data" / "relevance_dev.json"


def test_the_model_loads_and_its_profiles_are_strong_terms_of_known_words():
    model = learned.model()
    assert model.vocabulary.docs > 90_000
    assert len(model.rows) > 10_000
    norms = np.sqrt((model.top_weights.astype(float) ** 2).sum(axis=1))
    # Each profile is the strongest terms of a unit centroid: most of its length, never more than all of it.
    assert np.all((norms > 0.3) & (norms < 1.01))
    rng = random.Random(3)
    for key in rng.sample(sorted(model.rows), 50):
        profile = model.profile(key.replace("_", " "))
        assert profile is not None and profile.terms and profile.support > 0
        assert all("_" not in term and term in model.vocabulary.df for term in profile.terms)
        shares = list(profile.categories.values())
        assert shares == sorted(shares, reverse=True) and 0 < sum(shares) < 1.01


def test_a_phrase_the_model_does_not_know_has_no_profile():
    assert learned.model().profile("zqxv wqzz") is None


def test_a_pair_is_its_own_profile_not_a_mix_of_its_words():
    model = learned.model()
    pair = next(k for k in model.rows if "_" in k and all(w in model.rows for w in k.split("_")))
    profile = model.profile(pair.replace("_", " "))
    own = model.profile(pair.split("_")[0])
    assert profile is not None and own is not None and profile.terms != own.terms


@pytest.mark.skipif(not CORPUS.exists(), reason=f"the shared corpus is not beside the repository ({CORPUS})")
def test_the_model_agrees_with_the_corpus_it_was_built_from():
    """Recount 40 terms and rebuild 5 profiles from the real corpus: the shipped numbers are those."""
    model = learned.model()
    left_out = {p["id"] for p in json.loads(DEV.read_text(encoding="utf-8"))["papers"]}
    rng = random.Random(11)
    counted = rng.sample(sorted(model.vocabulary.df), 40)
    rebuilt = rng.sample(sorted(k for k in model.rows if model.vocabulary.df[k] < 400), 5)
    df: Counter[str] = Counter()
    users: dict[str, list] = {k: [] for k in rebuilt}
    docs = 0
    for batch in batches(CORPUS):
        for paper in batch.papers:
            if paper.id in left_out:
                continue
            docs += 1
            held = paper_terms(paper)
            df.update(t for t in counted if t in held)
            for key in rebuilt:
                if key in held:
                    users[key].append(paper)
    assert docs == model.vocabulary.docs
    assert {t: df[t] for t in counted} == {t: model.vocabulary.df[t] for t in counted}
    for key in rebuilt:
        phrase = key.replace("_", " ")
        expected = profile_from(phrase, users[key][-NEIGHBOURS:], model.vocabulary)
        shipped = model.profile(phrase)
        assert expected is not None and shipped is not None
        strongest = [t for t in expected.terms if t in model.vocabulary.df][: learned.TERMS]
        assert list(shipped.terms) == strongest
        assert abs(shipped.cohesion - expected.cohesion) < 0.01
