"""Every reader preference declared once: name, kind (parse from text, write back, range), CLI option and help.

The CLI options of `subscribers add/update`, the web forms (web/forms.py), CSV and JSON import and export
(subscriptions.py), validation, `Subscriber.to_dict` and the store's row mapping all read FIELDS. Adding a
preference: one entry here and the attribute on `SubscriberChanges` and on `Subscriber` (a list: on
`Preferences`); a single value also needs its column in store/tables.py and a migration. RECORD_FIELDS are
what an export carries besides: the reader's status and feedback, which only an import sets this way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from newsletter.categories import arxiv_category
from newsletter.errors import FeedError, InputError
from newsletter.models import WEEKDAYS, Frequency, Status, Subscriber

MAX_PHRASE = 200  # characters in one topic, category, author or excluded phrase, and in a name
MAX_PHRASES = 100  # topics, categories, authors or excluded phrases of one reader


class Kind:
    """How one kind of value is read from text (a CSV cell, a form field, a CLI word), written back and checked.

    `parse` and `write` are inverses for every valid value: an export imported again gives the same export."""

    click_type: Any = str  # what the CLI's option converts its text with
    many = False  # a list: a repeatable CLI option, one CSV cell joined by ";"

    def parse(self, text: str, label: str) -> Any:
        """The value in `text`; None for empty text (not given)."""
        return " ".join(text.split()) or None

    def write(self, value: Any) -> str:
        return "" if value is None else str(value)

    def check(self, value: Any, label: str) -> Any:
        """The value as stored, or InputError naming the field."""
        return value

    def to_json(self, value: Any) -> object:
        return value

    def from_stored(self, value: Any) -> Any:
        return value

    def to_stored(self, value: Any) -> Any:
        return value


class Text(Kind):
    def parse(self, text: str, label: str) -> str:
        return self.check(text, label)  # empty is a value: no name

    def check(self, value: str, label: str) -> str:
        cleaned = " ".join(value.split())
        if len(cleaned) > MAX_PHRASE:  # it goes into every To: header and page
            raise InputError(f"{label}: '{cleaned[:40]}…' is longer than {MAX_PHRASE} characters")
        return cleaned


@dataclass(frozen=True)
class Items(Kind):
    """A list kept as rows of `preferences` of kind `stored`."""

    stored: str
    many = True

    def parse(self, text: str, label: str) -> tuple[str, ...] | None:
        return tuple(text.split(";")) if text.strip() else None

    def write(self, value: Any) -> str:
        return ";".join(value)

    def to_json(self, value: Any) -> object:
        return list(value)


@dataclass(frozen=True)
class Phrases(Items):
    """A list of phrases; the web form shows one per line, or (categories) separated by commas or spaces."""

    form_split: str = "lines"

    def check(self, value: Iterable[str], label: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(" ".join(v.split()) for v in value if v.strip()))
        if len(items) > MAX_PHRASES:  # each is scored against every paper of the day, for this reader alone
            raise InputError(f"{label}: {len(items)} of them; at most {MAX_PHRASES}")
        for item in items:
            if len(item) > MAX_PHRASE:
                raise InputError(f"{label}: '{item[:40]}…' is longer than {MAX_PHRASE} characters")
            if ";" in item:  # it would come back from a CSV export as two phrases
                raise InputError(f"{label}: '{item[:40]}' contains ';', which separates phrases in CSV files")
        return items

    def parse_form(self, text: str) -> tuple[str, ...]:
        if self.form_split == "lines":  # a topic may contain commas: "graphs, not grids"
            return tuple(line.strip() for line in text.splitlines() if line.strip())
        return tuple(word for word in re.split(r"[\s,]+", text) if word)

    def write_form(self, value: Iterable[str]) -> str:
        return ("\n" if self.form_split == "lines" else ", ").join(value)


@dataclass(frozen=True)
class Categories(Phrases):
    """arXiv categories ("cs.LG", "hep-th", "cond-mat.stat-mech"), in arXiv's spelling: a two-letter subject
    in capitals, any other part in lower case. A name in words ("machine learning") would match no paper."""

    def check(self, value: Iterable[str], label: str) -> tuple[str, ...]:
        found = []
        for item in super().check(value, label):
            try:
                found.append(arxiv_category(item))
            except ValueError as exc:
                raise InputError(f"{label}: {exc}") from None
        return tuple(dict.fromkeys(found))


class PaperIds(Items):
    """Papers by bare arXiv id (any version or URL form is accepted). A paper not stored here yet is kept by
    its id: feedback rows do not refer to the papers table, so an import needs no papers first."""

    def check(self, value: Iterable[str], label: str) -> tuple[str, ...]:
        from newsletter.sources.ids import split_arxiv_id  # the sources package is slow to import

        ids = []
        for item in value:
            if item.strip():
                try:
                    ids.append(split_arxiv_id(item)[0])
                except FeedError:
                    raise InputError(f"{label}: '{item[:40]}' is not an arXiv id") from None
        return tuple(dict.fromkeys(ids))


@dataclass(frozen=True)
class Number(Kind):
    """A whole or decimal number in [low, high]; `note` explains a special value."""

    type: type = int
    low: float = 0
    high: float = 0
    note: str = ""

    @property
    def click_type(self) -> Any:
        return self.type

    def parse(self, text: str, label: str) -> int | float | None:
        text = text.strip()
        if not text:
            return None
        try:
            number: int | float = self.type(text)
            return number
        except ValueError:
            what = "a whole number" if self.type is int else "a number"
            raise InputError(f"{label}: '{text[:20]}' is not {what}") from None

    def check(self, value: Any, label: str) -> Any:
        if self.type is int and isinstance(value, float):
            if not value.is_integer():
                raise InputError(f"{label}: {value} is not a whole number")
            value = int(value)
        value = self.type(value) + self.type(0)  # -0.0 is 0.0
        if not self.low <= value <= self.high:
            span = f"{self.low}..{self.high}" if self.type is int else f"between {self.low:g} and {self.high:g}"
            shown = str(value) if len(str(value)) <= 20 else f"{str(value)[:20]}…"
            raise InputError(f"{label} {shown} must be {span}{self.note}")
        return value


class Timezone(Kind):
    def check(self, value: str, label: str) -> str:
        from newsletter.config import is_timezone

        if not is_timezone(value):
            raise InputError(f"timezone {value!r} is not an IANA timezone (e.g. Europe/Berlin)")
        return value


@dataclass(frozen=True)
class Choice(Kind):
    """One value of a StrEnum (Frequency, Status), by its name."""

    enum: type[StrEnum]

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(e.value for e in self.enum)

    def parse(self, text: str, label: str) -> StrEnum | None:
        text = text.strip().lower()
        if not text:
            return None
        try:
            return self.enum(text)
        except ValueError:
            *others, last = self.choices
            raise InputError(f"{label} '{text[:20]}': expected {', '.join(others)} or {last}") from None

    def to_json(self, value: Any) -> object:
        return str(value)

    def from_stored(self, value: Any) -> StrEnum:
        return self.enum(value)

    def to_stored(self, value: Any) -> str:
        return str(value)


class Weekday(Kind):
    """A weekday by name (or its first letters: "mo", "tue"); kept as 0 (Monday) .. 6."""

    def parse(self, text: str, label: str) -> int | None:
        text = text.strip().lower()
        if not text:
            return None
        matches = [i for i, day in enumerate(WEEKDAYS) if len(text) >= 2 and day.startswith(text)]
        if len(matches) != 1:
            raise InputError(f"{label} {text[:20]!r}: expected monday..sunday")
        return matches[0]

    def write(self, value: Any) -> str:
        return "" if value is None else WEEKDAYS[value]

    def check(self, value: Any, label: str) -> int:
        if not 0 <= value <= 6:
            raise InputError(f"{label} {value!r}: expected monday..sunday")
        return int(value)

    def to_json(self, value: Any) -> object:
        return self.write(value) or None


@dataclass(frozen=True)
class Field:
    """One preference: `name` is the attribute of Subscriber and SubscriberChanges, the CSV column, the JSON
    key, the form field and the store's column (lists: the Preferences attribute)."""

    name: str
    kind: Kind
    help: str
    label: str = ""  # how an error names it (default: the name in words)
    option: str = ""  # the CLI option when it is not --name-with-dashes

    @property
    def flag(self) -> str:
        return self.option or "--" + self.name.replace("_", "-")

    @property
    def words(self) -> str:
        return self.label or self.name.replace("_", " ")

    def get(self, subscriber: Subscriber) -> Any:
        return getattr(subscriber.preferences if self.kind.many else subscriber, self.name)

    def read(self, raw: Any) -> Any:
        """A value given as text (CSV, form, JSON string) or typed (CLI, JSON) in its kind's type, unchecked;
        None (or empty text) means "not given"."""
        if raw is None or isinstance(raw, str):
            return None if raw is None else self.kind.parse(raw, self.words)
        if self.kind.many and isinstance(raw, list | tuple) and all(isinstance(v, str) for v in raw):
            return tuple(raw)
        if isinstance(raw, int | float) and not isinstance(raw, bool) and isinstance(self.kind, Number | Weekday):
            return raw
        expected = "a list of text" if self.kind.many else "a number" if isinstance(self.kind, Number) else "text"
        raise wrong_type(self.words, raw, expected)

    def check(self, value: Any) -> Any:
        return self.kind.check(value, self.words)


FIELDS: tuple[Field, ...] = (
    Field("name", Text(), "Display name."),
    Field("topics", Phrases("topic"), "Topic phrase (repeatable); replaces the list.", option="--topic"),
    Field(
        "categories", Categories("category", "words"), "arXiv category, e.g. cs.LG (repeatable).", option="--category"
    ),
    Field("authors", Phrases("author"), "Author to follow (repeatable).", option="--author"),
    Field("excluded", Phrases("exclude"), "Phrase that removes a paper (repeatable).", option="--exclude"),
    Field("max_items", Number(int, 1, 100), "At most this many papers per digest.", label="papers per digest"),
    Field("timezone", Timezone(), "IANA timezone, e.g. Europe/Berlin."),
    Field("send_hour", Number(int, 0, 23), "Local hour to send, 0..23.", label="send hour"),
    Field("frequency", Choice(Frequency), "daily or weekly."),
    Field("weekday", Weekday(), "Weekday of a weekly digest, e.g. monday."),
    Field("min_score", Number(float, 0, 1), "Minimum relevance, 0..1.", label="min score"),
    Field(
        "trending_items",
        Number(int, 0, 20, " (0: no trending section)"),
        "A 'Trending today' section of N papers after the reader's picks (0: none). "
        "A reader with no topics, categories or authors gets the day's trending papers anyway.",
        label="trending",
        option="--trending",
    ),
)
# No CLI option or form field sets these (status has its commands and links, feedback `like`/`dislike`), but an
# export without them would bring an unsubscribed reader back as active after an import, and lose their likes.
RECORD_FIELDS: tuple[Field, ...] = (
    Field("status", Choice(Status), "pending, active, paused, unsubscribed or bounced (empty: active)."),
    Field("liked", PaperIds("like"), "arXiv ids of the papers the reader liked."),
    Field("disliked", PaperIds("dislike"), "arXiv ids of the papers the reader disliked."),
)
EXPORTED = (*FIELDS, *RECORD_FIELDS)  # the columns of an export after the address, in this order
BY_NAME = {f.name: f for f in EXPORTED}
LIST_FIELDS = tuple(f for f in EXPORTED if f.kind.many)  # every list of Preferences, feedback included
SCALAR_FIELDS = tuple(f for f in FIELDS if not f.kind.many)  # the preference columns of `subscribers`


def wrong_type(label: str, value: Any, expected: str) -> InputError:
    """A value of an import's JSON of another type than its field takes, said as the file writes it."""
    return InputError(f"{label}: {json.dumps(value, default=str)[:40]} is not {expected}")


def read_all(raw: Callable[[Field], Any], fields: tuple[Field, ...] = FIELDS) -> dict[str, Any]:
    """{name: value} for every field (None: not given); `raw` gives each field's text or typed value."""
    return {f.name: f.read(raw(f)) for f in fields}


def record(subscriber: Subscriber) -> dict[str, object]:
    """The reader's preferences, status and feedback as JSON values, in table order (export, `to_dict`)."""
    return {f.name: f.kind.to_json(f.get(subscriber)) for f in EXPORTED}
