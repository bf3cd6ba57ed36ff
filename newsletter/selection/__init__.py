"""Ranking: (a reader's preferences, the candidate papers) -> ranked Picks, each with its "why" as data.

Pure and deterministic; no word lists. Per topic phrase, the parts of a paper's score are:

- lexical: BM25 over the title (counted twice) and the abstract, where the phrase's adjacent word pairs are
  terms too, so a paper using the phrase as a whole beats one sharing a single word of it ("circuit"); with
  a profile, the words of a paper holding only some of the phrase's count in full only as far as it agrees;
- background: closeness (cosine of TF-IDF vectors) to what the phrase means in the stored papers that use it
  most (a PhraseProfile, worked out by the store once per phrase and day); none on a fresh install;
- categories: how much of the profile's papers are filed where the candidate is (when it has categories);
- feedback: closeness to the papers the reader liked, minus closeness to those they disliked.

A reader of several topics gets each topic's best paper among the first picks (leaders.py): scores of
different phrases are not on one scale.
Word rarity comes from the batch itself plus, when there is one, a sample of the background (Vocabulary).
Scores are on a 0..1 scale. The Index analyses a batch of papers once and serves every reader.
"""

from newsletter.selection.explain import Explained, explain, legend
from newsletter.selection.index import Index
from newsletter.selection.ranking import Reader, rank, rank_many
from newsletter.selection.scoring import DEFAULT_FLOOR, Cache
from newsletter.selection.topics import BACKGROUND_WEIGHT, CATEGORY_WEIGHT, PARTIAL_SHARE, TopicScores, score_topic

__all__ = [
    "BACKGROUND_WEIGHT",
    "CATEGORY_WEIGHT",
    "DEFAULT_FLOOR",
    "PARTIAL_SHARE",
    "Cache",
    "Explained",
    "Index",
    "Reader",
    "TopicScores",
    "explain",
    "legend",
    "rank",
    "rank_many",
    "score_topic",
]
