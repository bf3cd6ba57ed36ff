"""The trending score: community votes with a time decay, in a form that never needs recomputing.

score = log2(1 + upvotes + 2 * comments) + days since an epoch / HALF_LIFE_DAYS

Each HALF_LIFE_DAYS of age halves what a paper's votes are worth against a newer one's, so a paper of
today with 40 upvotes outranks one of last week with 60 (a week is 3.5 half-lives: 60 votes then count
as 5 today). Because the decay is written as a bonus for being newer rather than a penalty for being
old, the order of two papers never changes with the clock: the score is computed once, at ingest or
when the votes are refreshed, and stored.
"""

from __future__ import annotations

import math
from datetime import date

from newsletter.models import Paper, Why

HALF_LIFE_DAYS = 2.0
COMMENT_WEIGHT = 2  # a comment says more than a click
EPOCH = date(2020, 1, 1)


def paper_day(paper: Paper) -> date | None:
    return paper.announced or (paper.published.date() if paper.published else None)


def trending_score(paper: Paper) -> float:
    votes = (paper.upvotes or 0) + COMMENT_WEIGHT * (paper.num_comments or 0)
    day = paper_day(paper)
    age_bonus = (day - EPOCH).days / HALF_LIFE_DAYS if day else 0.0
    return round(math.log2(1 + max(votes, 0)) + age_bonus, 6)


def why_trending(paper: Paper) -> Why:
    if paper.upvotes:
        return Why("trending", evidence=f"trending: ▲ {paper.upvotes} upvotes on Hugging Face")
    return Why("trending", evidence="trending: one of the newest papers")
