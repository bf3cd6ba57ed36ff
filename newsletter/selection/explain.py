"""`preview --explain`: the best candidates for a reader, picked or not, with the parts of their scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.meaning import PhraseProfile
from newsletter.models import Paper, Subscriber, Why
from newsletter.selection.choosing import picked, why_of
from newsletter.selection.index import Index
from newsletter.selection.scoring import DEFAULT_FLOOR, OTHER_TOPICS_SHARE, AlreadySent, score_reader
from newsletter.selection.topics import BACKGROUND_WEIGHT, CATEGORY_WEIGHT


@dataclass(frozen=True)
class Explained:
    """The parts of one candidate's score for one reader (`preview --explain`)."""

    paper: Paper
    score: float
    topic: str
    lexical: float
    background: float
    categories: float
    feedback: float
    excluded: bool
    already_sent: bool
    picked: bool
    why: Why | None

    def to_dict(self) -> dict[str, object]:
        """As `preview --explain --json` gives it."""
        parts = {k: round(getattr(self, k), 4) for k in ("score", "lexical", "background", "categories", "feedback")}
        return {
            "id": self.paper.id,
            "title": self.paper.title,
            "picked": self.picked,
            "topic": self.topic,
            **parts,
            "excluded": self.excluded,
            "already_sent": self.already_sent,
            "why": self.why.to_dict() if self.why else None,
        }


def legend() -> str:
    """What the parts of a score are, for `preview --explain`, with the weights the ranking uses."""
    return (
        f"score: the best topic's lex + bg × {BACKGROUND_WEIGHT:g} + cat × {CATEGORY_WEIGHT:g}, plus"
        f" {OTHER_TOPICS_SHARE:g} × each other topic's, and fb. lex: the topic's words in the paper; bg: closeness"
        " to the stored papers that use the topic; cat: their categories; fb: the reader's likes and dislikes;"
        " excl: excluded; sent: already sent."
    )


def explain(
    subscriber: Subscriber,
    index: Index,
    already_sent: AlreadySent = frozenset(),
    floor: float = DEFAULT_FLOOR,
    liked: Sequence[Paper] = (),
    disliked: Sequence[Paper] = (),
    profiles: Mapping[str, PhraseProfile] | None = None,
    top: int = 15,
) -> list[Explained]:
    """The `top` best candidates for this reader, picked or not, with the parts of their scores."""
    if not index.docs:
        return []
    scored = score_reader(subscriber, index, already_sent, floor, {}, profiles or {}, liked, disliked)
    chosen = set(picked(scored, subscriber.max_items, index))
    order = [int(i) for i in np.lexsort((-index.upvotes, -scored.score))][:top]
    rows = []
    for i in order:
        topic = scored.topic(i)
        rows.append(
            Explained(
                index.docs[i].paper,
                float(scored.score[i]),
                topic.topic if topic else "",
                float(topic.lexical[i]) if topic else 0.0,
                float(topic.background[i]) if topic else 0.0,
                float(topic.categories[i]) if topic else 0.0,
                float(scored.feedback[i]),
                bool(scored.excluded[i]),
                bool(scored.sent[i]),
                i in chosen,
                why_of(scored, index, i) if (topic or i in scored.reasons) else None,
            )
        )
    return rows
