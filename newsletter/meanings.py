"""What each phrase of the day means: learned from the stored papers that use it, else from the shipped model.

Worked out once per phrase and day and kept for the life of the process (a send asks for the same few hundred
phrases for many thousand readers); handed to the selection as PhraseProfiles, with the word rarity it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from newsletter import learned
from newsletter.meaning import PhraseProfile, profile_from
from newsletter.models import Paper
from newsletter.words import Vocabulary

# Stored papers that outweigh the shipped model: the store's own evidence, however thin, wins (tuned on the
# tune split, where preferring the model whenever the phrase as written is rare scored lower).
TRUST = 3


class Meanings:
    """Phrase profiles from a phrase's neighbours among the stored papers (store/background.py), or from the
    shipped model of arXiv when fewer than TRUST of them say anything."""

    def __init__(self, neighbours: Callable[[str], Sequence[Paper]]) -> None:
        self.neighbours = neighbours
        self._profiles: dict[tuple[str, date], PhraseProfile | None] = {}

    def vocabulary(self) -> Vocabulary:
        """Word rarity: how rare a word is in arXiv, learned once from ~100,000 real papers and shipped (a
        sample of the store would say the same of a large store and much less of a young one, and costs a
        second a day to read)."""
        return learned.vocabulary()

    def profiles(self, phrases: Iterable[str], day: date) -> dict[str, PhraseProfile]:
        """Profiles of these phrases, cached per phrase and day: from the stored papers (the phrase as written,
        or all of its words); only when fewer than TRUST of them say anything (a fresh install, a rare
        phrase) from the shipped model of arXiv, if it knows the phrase."""
        result: dict[str, PhraseProfile] = {}
        for phrase in phrases:
            key = (phrase, day)
            if key not in self._profiles:
                stored = profile_from(phrase, self.neighbours(phrase), self.vocabulary())
                if stored is None or stored.support < TRUST:
                    stored = learned.model().profile(phrase) or stored
                self._profiles[key] = stored
            profile = self._profiles[key]
            if profile is not None:
                result[phrase] = profile
        return result
