"""What a reader is sent: each pick with why it was picked, and the digest of one issue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from newsletter.models.papers import Paper
from newsletter.models.readers import Subscriber


@dataclass(frozen=True)
class Why:
    """Why a paper was picked, as data that the templates format.

    `kind` is what it answers to: "topic" (one of the reader's phrases), "author", "category", "liked",
    "trending", or "note" (a reason archived before reasons were data). `subject` is that phrase, author,
    category or liked title; `words` the words of the topic as they appear in the paper (for the title, to
    make them stand out); `evidence` where the meaning came from ("like papers on cs.CV, cs.LG").
    """

    kind: str
    subject: str = ""
    words: tuple[str, ...] = ()
    evidence: str = ""

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        """The reason as one plain sentence (the text part, logs, --explain)."""
        if self.kind == "topic":
            details = [", ".join(self.words)] if self.words else []
            details += [self.evidence] if self.evidence else []
            return f"your topic '{self.subject}'" + (f" ({'; '.join(details)})" if details else "")
        if self.kind == "author":
            return f"by {self.subject}, whom you follow"
        if self.kind == "category":
            return f"new in {self.subject}, a category you follow"
        if self.kind == "liked":
            return f"like '{self.subject}', which you liked"
        return self.evidence

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "subject": self.subject, "words": list(self.words), "evidence": self.evidence}

    def to_json(self) -> str:
        """How the archive keeps it (digest_items.why)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, stored: str) -> Why:
        """Back from the archive; a reason archived as a sentence, before reasons were data, stays a note."""
        try:
            data = json.loads(stored)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls("note", evidence=stored)
        words = data.get("words")
        return cls(
            str(data.get("kind", "note")),
            str(data.get("subject", "")),
            tuple(str(w) for w in words) if isinstance(words, list) else (),
            str(data.get("evidence", "")),
        )


@dataclass(frozen=True)
class Pick:
    """A paper chosen for one reader, with its score and the reason shown in the email."""

    paper: Paper
    score: float
    why: Why
    updated: bool = False
    trending: bool = False  # in the digest's "Trending today" section, after the reader's own picks


@dataclass(frozen=True)
class Digest:
    """One reader's issue: the ranked picks for the papers announced in [window_start, window_end]."""

    subscriber: Subscriber
    issue_date: date
    picks: tuple[Pick, ...]
    window_start: date
    window_end: date
    candidates: int = 0
    quiet_days: tuple[date, ...] = ()  # weekdays in the window on which nothing was announced (holidays)
