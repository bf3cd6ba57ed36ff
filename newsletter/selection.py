"""Ranking: (a reader's preferences, the candidate papers) -> ranked Picks, each with a one-line "why".

Pure and deterministic. Topic phrases are scored with a field-weighted BM25 (title counts more than the
abstract) in which a phrase counts as a whole: the share of the phrase's weight that a paper covers is
applied twice, so a paper sharing only one ambiguous word ("circuit") with a long phrase scores low, and an
exact or near occurrence of the whole phrase earns a bonus. Scores are on a 0..1 scale.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from newsletter.models import Paper, Pick, Subscriber

FIELD_WEIGHTS = {"title": 3.0, "abstract": 1.0}
K1 = 1.2
B = 0.75
EXACT_PHRASE_BONUS = 0.25
NEAR_PHRASE_BONUS = 0.10
NEAR_WINDOW = 8
OTHER_TOPICS_SHARE = 0.25
CATEGORY_BONUS = 0.15
DEFAULT_FLOOR = 0.12

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "their",
        "this",
        "to",
        "we",
        "what",
        "when",
        "which",
        "with",
        "via",
        "using",
        "use",
        "used",
        "based",
        "new",
        "towards",
        "toward",
        "between",
        "across",
        "over",
        "under",
        "than",
        "these",
        "those",
        "such",
        "not",
        "also",
        "both",
        "how",
        "do",
        "does",
    ]
)


def stem(word: str) -> str:
    """A light suffix stemmer: enough to make 'circuits' meet 'circuit' and 'learning' meet 'learn'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def analyse(text: str) -> list[tuple[str, str]]:
    """(stem, surface word) pairs of the content words of a text, in order."""
    return [(stem(w), w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@dataclass(frozen=True)
class _Field:
    stems: tuple[str, ...]
    counts: Counter[str]
    surface: dict[str, str]

    @classmethod
    def of(cls, text: str) -> _Field:
        pairs = analyse(text)
        surface: dict[str, str] = {}
        for s, w in pairs:
            surface.setdefault(s, w)
        return cls(tuple(s for s, _ in pairs), Counter(s for s, _ in pairs), surface)


@dataclass(frozen=True)
class _Doc:
    paper: Paper
    fields: dict[str, _Field]


@dataclass
class Index:
    """The candidate papers of one issue, analysed once and shared by every reader's ranking."""

    papers: Sequence[Paper]
    docs: list[_Doc] = field(init=False)
    idf: dict[str, float] = field(init=False)
    avg_len: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        self.docs = [_Doc(p, {"title": _Field.of(p.title), "abstract": _Field.of(p.abstract)}) for p in self.papers]
        n = len(self.docs)
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(set(doc.fields["title"].counts) | set(doc.fields["abstract"].counts))
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.avg_len = {
            name: (sum(len(d.fields[name].stems) for d in self.docs) / n if n else 1.0) or 1.0 for name in FIELD_WEIGHTS
        }

    def term_idf(self, term: str) -> float:
        # A word no candidate contains is as rare as it gets.
        return self.idf.get(term, math.log(1 + (len(self.docs) + 0.5) / 0.5))


@dataclass(frozen=True)
class _Match:
    score: float
    words: dict[str, list[str]]


def _phrase_stems(phrase: str) -> tuple[str, ...]:
    return tuple(s for s, _ in analyse(phrase))


def _contains(seq: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n > 0 and any(tuple(seq[i : i + n]) == tuple(part) for i in range(len(seq) - n + 1))


def _near(seq: Sequence[str], terms: set[str], window: int) -> bool:
    """Whether every term occurs within one window of positions."""
    positions = [(i, s) for i, s in enumerate(seq) if s in terms]
    for start, (i, _) in enumerate(positions):
        seen = {s for j, s in positions[start:] if j - i < window}
        if seen >= terms:
            return True
    return False


def _score_phrase(index: Index, doc: _Doc, phrase: tuple[str, ...]) -> _Match:
    terms = list(dict.fromkeys(phrase))
    if not terms:
        return _Match(0.0, {})
    total_idf = sum(index.term_idf(t) for t in terms)
    score = covered = 0.0
    words: dict[str, list[str]] = {name: [] for name in FIELD_WEIGHTS}
    for term in terms:
        weighted_tf = 0.0
        for name, weight in FIELD_WEIGHTS.items():
            fld = doc.fields[name]
            tf = fld.counts.get(term, 0)
            if tf:
                norm = 1 - B + B * len(fld.stems) / index.avg_len[name]
                weighted_tf += weight * tf / norm
                words[name].append(fld.surface[term])
        if weighted_tf:
            idf = index.term_idf(term)
            score += idf * weighted_tf / (K1 + weighted_tf)
            covered += idf
    coverage = covered / total_idf
    relevance = (score / total_idf) * coverage**2
    if len(terms) > 1 and coverage == 1.0:
        fields = [doc.fields[name].stems for name in FIELD_WEIGHTS]
        if any(_contains(seq, phrase) for seq in fields):
            relevance += EXACT_PHRASE_BONUS
        elif any(_near(seq, set(terms), NEAR_WINDOW) for seq in fields):
            relevance += NEAR_PHRASE_BONUS
    return _Match(min(relevance, 1.0), {k: v for k, v in words.items() if v})


def _why_topic(topic: str, match: _Match) -> str:
    """ "matches your topic 'X' (title: 'a', 'b'; abstract: 'c')": each matched word once, where it counts most."""
    shown: set[str] = set()
    parts = []
    for name, words in match.words.items():
        fresh = [w for w in words if stem(w) not in shown][:4]
        shown.update(stem(w) for w in fresh)
        if fresh:
            parts.append(f"{name}: " + ", ".join(f"'{w}'" for w in fresh))
    return f"matches your topic '{topic}'" + (f" ({'; '.join(parts)})" if parts else "")


def _author_key(name: str) -> str:
    return " ".join(_WORD.findall(name.lower()))


def _is_excluded(doc: _Doc, excluded: Iterable[tuple[str, ...]]) -> bool:
    return any(
        _contains(doc.fields["title"].stems, phrase) or _contains(doc.fields["abstract"].stems, phrase)
        for phrase in excluded
        if phrase
    )


def rank(
    subscriber: Subscriber,
    index: Index,
    already_sent: frozenset[str] | set[str] = frozenset(),
    floor: float = DEFAULT_FLOOR,
) -> list[Pick]:
    """The reader's picks among the indexed papers, best first, at most `max_items`."""
    prefs = subscriber.preferences
    topics = [(t, _phrase_stems(t)) for t in prefs.topics]
    excluded = [_phrase_stems(x) for x in prefs.excluded]
    followed = {_author_key(a): a for a in prefs.authors}
    categories = {c.lower() for c in prefs.categories}
    threshold = subscriber.min_score if subscriber.min_score is not None else floor
    trending_only = not (topics or followed or categories)

    scored: list[Pick] = []
    for doc in index.docs:
        paper = doc.paper
        if paper.id in already_sent or _is_excluded(doc, excluded):
            continue
        if trending_only:
            if paper.upvotes:
                scored.append(Pick(paper, float(paper.upvotes), f"trending: {paper.upvotes} upvotes on Hugging Face"))
            continue
        author = next((followed[k] for k in map(_author_key, paper.authors) if k in followed), None)
        matches = sorted(((_score_phrase(index, doc, p), t) for t, p in topics), key=lambda m: -m[0].score)
        best = matches[0] if matches else None
        score = 0.0
        if best:
            score = best[0].score + OTHER_TOPICS_SHARE * sum(m.score for m, _ in matches[1:])
        in_category = next((c for c in paper.categories if c.lower() in categories), None)
        if in_category:
            score += CATEGORY_BONUS if topics else 0.5
        if author is not None:
            scored.append(Pick(paper, max(score, 1.0), f"by {author}, whom you follow"))
        elif best and best[0].score >= threshold:
            scored.append(Pick(paper, min(score, 1.0), _why_topic(best[1], best[0])))
        elif in_category and not topics and score >= threshold:
            scored.append(Pick(paper, score, f"new in {in_category}, a category you follow"))

    scored.sort(key=lambda p: (-p.score, -(p.paper.upvotes or 0), p.paper.id))
    return scored[: subscriber.max_items]
