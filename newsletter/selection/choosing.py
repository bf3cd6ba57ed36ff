"""A reader's scored papers -> their picks (the best by score, each topic led by its best) and each one's why."""

from __future__ import annotations

import numpy as np

from newsletter.models import Why
from newsletter.selection.index import Index
from newsletter.selection.leaders import topics_lead
from newsletter.selection.scoring import RELATIVE_FLOOR, Scored


def picked(scored: Scored, k: int, index: Index) -> list[int]:
    """The reader's k picks, best first, each of their topics led by its best paper (leaders.py)."""
    chosen = by_score(scored, k, index)
    return topics_lead(chosen, scored.topics, lambda i: bool(scored.blocked[i]), scored.threshold, k)


def by_score(scored: Scored, k: int, index: Index) -> list[int]:
    """The k open papers of best score (none far weaker than the best: scoring.RELATIVE_FLOOR), best first,
    more votes first among equals."""
    open_ = scored.eligible & ~scored.blocked
    top = float(scored.score[open_].max()) if open_.any() else 0.0
    if top > 0:
        open_ &= scored.score >= RELATIVE_FLOOR * top
    score = np.where(open_, scored.score, -np.inf)
    if int(open_.sum()) > k:
        # Only the best k (and any tied with the k-th) need the full ordering.
        kth = -np.partition(-score, k - 1)[k - 1]
        chosen = np.flatnonzero(score >= kth)
    else:
        chosen = np.flatnonzero(open_)
    return [int(i) for i in chosen[np.lexsort((-index.upvotes[chosen], -score[chosen]))][:k]]


def why_of(scored: Scored, index: Index, i: int) -> Why:
    """Why paper i is the reader's: a reason of its own (a followed author, a liked paper), else its topic's."""
    reason = scored.reasons.get(i)
    if reason is not None:
        return reason
    topic = scored.topic(i)
    assert topic is not None, "a paper is eligible by a topic or has a reason of its own"
    return topic.why(index, i)
