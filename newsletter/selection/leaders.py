"""A reader of several topics sees the best paper of each of them first, whatever the others' scores.

Scores of different phrases are not on one scale: a phrase used often and as written ("circuit design",
mostly quantum circuits in arXiv) gives many papers a high score, a rarer one ("chip design automation")
gives its best paper a low one, and ranked by score alone the first topic took all of the first places.
A reader who named two interests expects both in the first lines of their digest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from newsletter.selection.scoring import OTHER_TOPICS_SHARE, RELATIVE_FLOOR
from newsletter.selection.topics import TopicScores


def combined(topics: Sequence[TopicScores], i: int) -> tuple[float, int]:
    """Paper i's score for the reader (its best topic in full, the others a share) and that best topic."""
    parts = [float(t.scores[i]) for t in topics]
    best = max(range(len(parts)), key=parts.__getitem__)
    return parts[best] + OTHER_TOPICS_SHARE * (sum(parts) - parts[best]), best


def topics_lead(
    chosen: list[int], topics: Sequence[TopicScores], is_blocked: Callable[[int], bool], threshold: float, k: int
) -> list[int]:
    """The reader's picks (papers, best first) with each topic led by a paper among the first: its best
    pick if it has one, else its best open paper; those papers first, by score, then the rest in their
    order; at most k. A topic without picks whose best paper is under the reader's threshold, or far weaker
    than their best pick (scoring.RELATIVE_FLOOR), leads nothing."""
    if len(topics) < 2 or not chosen:
        return chosen
    top = combined(topics, chosen[0])[0]
    own: dict[int, int] = {}  # topic -> its best pick
    for i in chosen:
        own.setdefault(combined(topics, i)[1], i)
    leaders = [
        own[t] if t in own else _best_open(topic, topics, is_blocked, threshold, top) for t, topic in enumerate(topics)
    ]
    led = sorted(dict.fromkeys(i for i in leaders if i is not None), key=lambda i: -combined(topics, i)[0])
    return [*led, *(i for i in chosen if i not in led)][:k]


def _best_open(
    topic: TopicScores, topics: Sequence[TopicScores], is_blocked: Callable[[int], bool], threshold: float, top: float
) -> int | None:
    """The topic's best open paper, if it is above the reader's threshold and not far weaker than their best."""
    ids, _ = topic.shortlist()
    # Best first; among equals paper order, as the ranking orders them.
    for i in ids[np.argsort(-topic.scores[ids], kind="stable")].tolist():
        if not is_blocked(i):
            return i if topic.scores[i] >= threshold and combined(topics, i)[0] >= RELATIVE_FLOOR * top else None
    return None
