"""The sign-up and preferences forms: form fields <-> SubscriberChanges, so web handlers stay thin."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from zoneinfo import available_timezones

from newsletter.errors import InputError
from newsletter.models import Frequency, Subscriber, SubscriberChanges
from newsletter.query import as_preferences
from newsletter.query import parse as parse_query
from newsletter.readers.fields import FIELDS, Field, Phrases, read_all

MAX_FIELD = 5000  # characters per field: a form is typed by a person


@cache
def timezones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def changes_from_form(form: Mapping[str, str], full: bool) -> SubscriberChanges:
    """The form's fields as changes; InputError names the field that is wrong. `full` is the preferences
    form, where an emptied list means "none" (the sign-up form leaves unset fields to the defaults)."""
    for name, value in form.items():
        if len(value) > MAX_FIELD:
            raise InputError(f"{name}: longer than {MAX_FIELD} characters")

    def raw(field: Field) -> object:
        if isinstance(field.kind, Phrases):
            if field.name not in form and not full:
                return None
            return field.kind.parse_form(form.get(field.name, ""))
        return form.get(field.name)

    values = read_all(raw)
    if form.get("search", "").strip():  # "email me this search": its words become the topics
        values["topics"], values["excluded"] = as_preferences(parse_query(form["search"]))
    if values["frequency"] is not Frequency.WEEKLY:  # the weekday menu is always sent; it counts for weekly only
        values["weekday"] = None
    return SubscriberChanges(**values)


def form_values(subscriber: Subscriber) -> dict[str, str]:
    """A subscriber as the preferences form shows it."""
    return {
        f.name: f.kind.write_form(f.get(subscriber)) if isinstance(f.kind, Phrases) else f.kind.write(f.get(subscriber))
        for f in FIELDS
    }
