"""What a topic phrase means, learned from the papers that use it: its PhraseProfile.

The phrase profile (its neighbours' strongest words, how close they sit, their categories).

Pure (no I/O): the store hands in papers (background neighbours of a phrase) and gets back frozen values
that the selection scores with. Nothing here knows any field or any word list.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.models import Paper
from newsletter.words import Vocabulary, analyse, count, idf, known_ids, names, paper_stems, paper_words, phrase_terms

PROFILE_TERMS = 300  # the strongest terms of a centroid; the long tail is noise and costs time per paper


@dataclass(frozen=True)
class PhraseProfile:
    """What a phrase means in the papers that use it: the TF-IDF centroid of its nearest background papers
    (without the phrase's own words, which the lexical score already counts), how close those papers sit to
    that centroid (the scale of a good match), and the categories they are filed in."""

    phrase: str
    terms: Mapping[str, float]
    cohesion: float
    categories: Mapping[str, float]
    support: int

    def evidence(self, top: int = 3) -> str:
        """'papers on cs.LG, cs.CL': where the papers it was learned from are filed, for the "why" and --explain
        ("" when they carry no categories). Not how many: that is the number retrieval stops at, the same for
        every common phrase, and said nothing to a reader (a reader trial)."""
        names = ", ".join(c for c, _ in sorted(self.categories.items(), key=lambda kv: -kv[1])[:top])
        return f"papers on {names}" if names else ""


APART = 0.1  # of a neighbour's weight, chosen on the tune split
WINDOW = 4


def _near(stemmed: tuple[tuple[str, ...], tuple[str, ...]], words: Sequence[str]) -> bool:
    """Whether a paper holds all these words within a few words of one another (title or abstract)."""
    wanted = set(words)
    for sequence in stemmed:
        last: dict[str, int] = {}
        for i, s in enumerate(sequence):
            if s in wanted:
                last[s] = i
                if len(last) == len(wanted) and i - min(last.values()) <= len(wanted) - 1 + WINDOW:
                    return True
    return False


def profile_from(phrase: str, neighbours: Sequence[Paper], vocabulary: Vocabulary) -> PhraseProfile | None:
    """The profile of `phrase` from the background papers that use it most (None when there are none).

    Each neighbour counts by how much it uses the phrase (BM25-like saturation over the phrase's words and
    pairs, the rarer the term the more it weighs): papers using the phrase as written outweigh papers that
    only hold its words somewhere, so a word's other sense does not take the profile over."""
    if not neighbours:
        return None
    own = phrase_terms([s for s, _ in analyse(phrase)])
    weights = vocabulary.weights
    rarest = idf(0, vocabulary.docs)
    stemmed = [paper_stems(p) for p in neighbours]
    counts = [{t: c for t in own if (c := count(st, t))} for st in stemmed]
    uses = [sum(weights.get(t, rarest) * c / (c + 1.2) for t, c in held.items()) for held in counts]
    words = [t for t in own if "_" not in t]
    pairs = [t for t in own if "_" in t]
    if pairs:
        # A paper holding the phrase's words far apart (the fallback when few use it as written) may use
        # each in another sense: "forecasts" of "inflation" in cosmology are not inflation forecasting.
        uses = [
            use if all(t in held for t in pairs) or _near(st, words) else use * APART
            for use, held, st in zip(uses, counts, stemmed, strict=True)
        ]
    if not any(uses):
        uses = [1.0] * len(neighbours)
    terms_, cohesion = _centroid(neighbours, np.array(uses), words, vocabulary)
    categories: defaultdict[str, float] = defaultdict(float)  # weighted uses: fractional counts
    for paper, use in zip(neighbours, uses, strict=True):
        for i, category in enumerate(paper.categories):
            # The primary category says most about where a paper belongs.
            categories[category] += use * (1.0 if i == 0 else 0.5)
    total = sum(categories.values())
    return PhraseProfile(
        phrase,
        terms_,
        cohesion,
        {c: v / total for c, v in sorted(categories.items(), key=lambda cv: cv[1], reverse=True)[:10]} if total else {},
        len(neighbours),
    )


def _centroid(
    neighbours: Sequence[Paper], uses: np.ndarray, own: Sequence[str], vocabulary: Vocabulary
) -> tuple[dict[str, float], float]:
    """The PROFILE_TERMS strongest words of the neighbours' TF-IDF vectors (unit, damped counts, words
    only) summed by use, the phrase's own words left out (the lexical score counts them already), as a unit
    vector; and how close the neighbours sit to it, by use."""
    held = [paper_words(p) for p in neighbours]
    ids = np.concatenate([w for w, _ in held])
    paper = np.repeat(np.arange(len(held)), [len(w) for w, _ in held])
    raw = (1 + np.log(np.concatenate([c for _, c in held]))) * vocabulary.word_idf(ids)
    norm = np.sqrt(np.bincount(paper, raw * raw, minlength=len(held)))
    values = raw / np.where(norm > 0, norm, 1.0)[paper]
    words, first, where = np.unique(ids, return_index=True, return_inverse=True)
    summed = np.bincount(where, values * uses[paper], minlength=len(words))
    # What the neighbours share says what the phrase means; a word of one paper only says what that paper is about.
    centroid = summed * np.bincount(where, minlength=len(words)) / len(held)
    mine = known_ids(own)
    candidates = np.flatnonzero(~np.isin(words, mine))
    # Strongest first; among equals the word met first, as a stable sort of the neighbours' words would.
    strongest = candidates[np.lexsort((first[candidates], -centroid[candidates]))][:PROFILE_TERMS]
    top = centroid[strongest]
    length = math.sqrt(float(top @ top))
    if not length:
        return {}, 0.0
    top = top / length
    weight = np.zeros(len(words))
    weight[strongest] = top
    closeness = np.bincount(paper, weight[where] * values, minlength=len(held))
    return (
        dict(zip(names(words[strongest].tolist()), top.tolist(), strict=True)),
        float(uses @ closeness) / float(uses.sum()),
    )
