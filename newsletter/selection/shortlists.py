"""The best papers of many readers of topics alone at once, from their topics' shortlists.

Exactly as scoring every paper would rank them (or a word that it cannot be told from the shortlists)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from newsletter.selection.index import Index
from newsletter.selection.scoring import OTHER_TOPICS_SHARE, RELATIVE_FLOOR
from newsletter.selection.topics import TopicScores

# A bound computed in floats may round below a score it bounds by an ulp: a paper outside the shortlists
# must fall short of the k-th by more than that.
SLACK = 1e-12

# (score as shown, at most 1; paper; which of the reader's topics it matches best), best first.
Best = list[tuple[float, int, int]]


def best_many(
    rows: Sequence[Sequence[TopicScores]],
    index: Index,
    blocked: Sequence[set[int]],
    thresholds: Sequence[float],
    ks: Sequence[int],
) -> list[Best | None]:
    """For each reader (a row of their topics; every row as long): their best k open papers at or above
    their threshold (scores as a pick shows them: at most 1), or None when a paper outside their topics'
    shortlists could still be among them (the caller then scores every paper). A paper's score only grows
    with each topic's, so one outside every shortlist scores at most what the shortlists' edges give.

    One array operation per step for the whole batch: a reader costs a few microseconds, not the few dozen
    numpy calls (each a microsecond or more whatever its size) that one reader alone would."""
    if not rows:
        return []
    distinct = list({id(t): t for row in rows for t in row}.values())
    where = {id(t): n for n, t in enumerate(distinct)}
    topic = np.array([[where[id(t)] for t in row] for row in rows])
    many = topic.shape[1] > 1
    shortlists = [t.shortlist() for t in distinct]
    # In paper order, so that a paper on two of the reader's shortlists sits twice side by side, and equal
    # scores keep paper order.
    candidates = np.sort(np.stack([ids for ids, _ in shortlists])[topic].reshape(len(rows), -1), axis=1)
    width = len(index.docs)
    parts = np.take(np.stack([t.scores for t in distinct]).ravel(), topic[:, :, None] * width + candidates[:, None, :])
    best = parts.max(axis=1)
    total = parts[:, 0]
    for j in range(1, topic.shape[1]):  # in the reader's order of topics, as score_reader adds them
        total = total + parts[:, j]
    score = best + OTHER_TOPICS_SHARE * (total - best) if many else best
    threshold = np.asarray(thresholds, dtype=float)
    open_ = best >= threshold[:, None]
    open_[:, 1:] &= candidates[:, 1:] != candidates[:, :-1]
    for r, off in enumerate(blocked):
        if off:
            open_[r] &= ~np.isin(candidates[r], list(off))
    key = np.where(open_, score, -np.inf)
    # A paper far weaker than the reader's best is not theirs (scoring.RELATIVE_FLOOR), as _chosen has it.
    top = key.max(axis=1)
    cut = np.where(top > 0, RELATIVE_FLOOR * top, -np.inf)
    key = np.where(key >= cut[:, None], key, -np.inf)
    k = np.asarray(ks)
    # The best few of each row (as many as the most any reader takes, and one more to see ties past the
    # last), then those alone in full order: best first, more votes first among equals, then paper order.
    most = min(int(k.max(initial=0)), key.shape[1] - 1)
    few = np.argpartition(-key, most, axis=1)[:, : most + 1]
    ids = np.take_along_axis(candidates, few, axis=1)
    ranked = np.take_along_axis(key, few, axis=1)
    order = np.lexsort((ids, -index.upvotes[ids], -ranked), axis=-1)
    few, ids, ranked = (np.take_along_axis(a, order, axis=1) for a in (few, ids, ranked))
    taken = (np.arange(most + 1) < k[:, None]) & (ranked > -np.inf)
    count = taken.sum(axis=1)
    kth = np.where(taken, ranked, np.inf).min(axis=1)
    # A paper past the few that ties the last one taken might come first on votes: not told here.
    exact = (count < k) | (kth > ranked[:, most])
    edges = np.array([edge for _, edge in shortlists])
    if not np.isneginf(edges).all():  # else the shortlists hold every paper
        edge = edges[topic]
        highest = edge.max(axis=1)
        outside = highest + OTHER_TOPICS_SHARE * (edge.sum(axis=1) - highest) if many else highest
        # With fewer than k taken, no paper outside may pass: below the floor, or far weaker than the best.
        exact &= np.where(count == k, kth > outside + SLACK, (highest < threshold) | (outside < cut - SLACK))
    which = np.take_along_axis(parts, few[:, None, :], axis=2).argmax(axis=1)
    scores, papers, topics = np.minimum(ranked[taken], 1.0).tolist(), ids[taken].tolist(), which[taken].tolist()
    found: list[Best | None] = []
    at = 0
    for n, sure in zip(count.tolist(), exact.tolist(), strict=True):
        found.append(
            list(zip(scores[at : at + n], papers[at : at + n], topics[at : at + n], strict=True)) if sure else None
        )
        at += n
    return found
