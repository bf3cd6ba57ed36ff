"""The sign-up and preferences forms: form fields <-> SubscriberChanges, so web handlers stay thin."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from zoneinfo import available_timezones

from newsletter.errors import InputError
from newsletter.models import WEEKDAYS, Frequency, Subscriber, SubscriberChanges
from newsletter.query import as_preferences
from newsletter.query import parse as parse_query
from newsletter.subscriptions import parse_weekday

MAX_FIELD = 5000  # characters per field: a form is typed by a person


@cache
def timezones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def _lines(text: str) -> tuple[str, ...]:
    """One item per line (a topic may contain commas: "graphs, not grids")."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _words(text: str) -> tuple[str, ...]:
    """Categories: separated by commas or spaces (cs.LG, q-bio.NC)."""
    return tuple(word for word in re.split(r"[\s,]+", text) if word)


def _number(form: Mapping[str, str], name: str, label: str) -> int | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(f"{label}: '{value[:20]}' is not a whole number") from None


def changes_from_form(form: Mapping[str, str], full: bool) -> SubscriberChanges:
    """The form's fields as changes; InputError names the field that is wrong. `full` is the preferences
    form, where an emptied field means "none" (the sign-up form leaves unset fields to the defaults)."""
    for name, value in form.items():
        if len(value) > MAX_FIELD:
            raise InputError(f"{name}: longer than {MAX_FIELD} characters")

    def listed(name: str, parse: Callable[[str], tuple[str, ...]] = _lines) -> tuple[str, ...] | None:
        if name not in form and not full:
            return None
        return parse(form.get(name, ""))

    topics, excluded = listed("topics"), listed("excluded")
    if form.get("search", "").strip():  # "email me this search": its words become the topics
        topics, excluded = as_preferences(parse_query(form["search"]))
    frequency_text = form.get("frequency", "").strip() or None
    try:
        frequency = Frequency(frequency_text) if frequency_text else None
    except ValueError:
        raise InputError(f"frequency '{frequency_text[:20]}': expected daily or weekly") from None
    return SubscriberChanges(
        name=form.get("name") if "name" in form else None,
        topics=topics,
        categories=listed("categories", _words),
        authors=listed("authors"),
        excluded=excluded,
        max_items=_number(form, "max_items", "papers per digest"),
        trending_items=_number(form, "trending_items", "trending papers"),
        timezone=form.get("timezone", "").strip() or None,
        send_hour=_number(form, "send_hour", "send hour"),
        frequency=frequency,
        weekday=parse_weekday(form.get("weekday", "").strip() or None) if frequency is Frequency.WEEKLY else None,
    )


def form_values(subscriber: Subscriber) -> dict[str, str]:
    """A subscriber as the preferences form shows it."""
    prefs = subscriber.preferences
    return {
        "name": subscriber.name,
        "topics": "\n".join(prefs.topics),
        "categories": ", ".join(prefs.categories),
        "authors": "\n".join(prefs.authors),
        "excluded": "\n".join(prefs.excluded),
        "max_items": str(subscriber.max_items),
        "trending_items": str(subscriber.trending_items),
        "timezone": subscriber.timezone,
        "send_hour": str(subscriber.send_hour),
        "frequency": str(subscriber.frequency),
        "weekday": WEEKDAYS[subscriber.weekday] if subscriber.weekday is not None else "monday",
    }
