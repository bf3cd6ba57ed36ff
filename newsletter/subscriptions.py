"""Operator actions on subscribers: validate input, then call the store; CSV/JSON import and export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from newsletter.addresses import normalize_email
from newsletter.config import Settings, is_timezone
from newsletter.errors import InputError
from newsletter.models import WEEKDAYS, Consent, Frequency, Preferences, Status, Subscriber, SubscriberChanges
from newsletter.store import SubscriberStore

CSV_FIELDS = (
    "email",
    "name",
    "topics",
    "categories",
    "authors",
    "excluded",
    "max_items",
    "timezone",
    "send_hour",
    "frequency",
)
LIST_FIELDS = ("topics", "categories", "authors", "excluded")


def parse_weekday(value: str | int | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
    else:
        text = value.strip().lower()
        matches = [i for i, day in enumerate(WEEKDAYS) if len(text) >= 2 and day.startswith(text)]
        if len(matches) == 1:
            return matches[0]
    raise InputError(f"weekday {value!r}: expected monday..sunday")


def validate_changes(changes: SubscriberChanges) -> SubscriberChanges:
    """Check every field that is set; InputError names the first bad one."""
    if changes.timezone is not None and not is_timezone(changes.timezone):
        raise InputError(f"timezone {changes.timezone!r} is not an IANA timezone (e.g. Europe/Berlin)")
    if changes.send_hour is not None and not 0 <= changes.send_hour <= 23:
        raise InputError(f"send hour {changes.send_hour} must be 0..23")
    if changes.max_items is not None and not 1 <= changes.max_items <= 100:
        raise InputError(f"max items {changes.max_items} must be 1..100")
    if changes.trending_items is not None and not 0 <= changes.trending_items <= 20:
        raise InputError(f"trending {changes.trending_items} must be 0..20 (0: no trending section)")
    if changes.min_score is not None and not 0 <= changes.min_score <= 1:
        raise InputError(f"min score {changes.min_score} must be between 0 and 1")
    if changes.frequency is Frequency.WEEKLY and changes.weekday is None:
        raise InputError("a weekly subscription needs --weekday (monday..sunday)")
    cleaned = {name: _clean_list(getattr(changes, name), name) for name in LIST_FIELDS}
    return replace(changes, **cleaned)


def _clean_list(values: Iterable[str] | None, name: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    items = tuple(dict.fromkeys(" ".join(v.split()) for v in values if v.strip()))
    for item in items:
        if len(item) > 200:
            raise InputError(f"{name}: '{item[:40]}…' is longer than 200 characters")
    return items


def add(
    settings: Settings,
    store: SubscriberStore,
    email: str,
    changes: SubscriberChanges,
    status: Status = Status.ACTIVE,
    source: str = "cli",
    consent: Consent | None = None,
) -> Subscriber:
    """A new subscriber; from the CLI an operator's act, so active at once (the web adds pending ones)."""
    address = normalize_email(email)
    changes = validate_changes(changes)
    digest = settings.digest
    frequency = changes.frequency or Frequency.DAILY
    subscriber = Subscriber(
        id=0,
        email=address,
        name=" ".join((changes.name or "").split()),
        status=status,
        timezone=changes.timezone or digest.default_timezone,
        send_hour=digest.default_send_hour if changes.send_hour is None else changes.send_hour,
        frequency=frequency,
        weekday=changes.weekday if frequency is Frequency.WEEKLY else None,
        max_items=changes.max_items or digest.max_items,
        min_score=changes.min_score,
        trending_items=changes.trending_items or 0,
        preferences=Preferences(
            topics=changes.topics or (),
            categories=changes.categories or (),
            authors=changes.authors or (),
            excluded=changes.excluded or (),
        ),
        consent_source=source,
        consent=consent,
    )
    return store.add(subscriber)


def update(store: SubscriberStore, email: str, changes: SubscriberChanges) -> Subscriber:
    address = normalize_email(email)
    current = store.require(address)
    if changes.frequency is Frequency.WEEKLY and changes.weekday is None:
        changes = replace(changes, weekday=current.weekday)
    changes = validate_changes(changes)
    if changes.name is not None:
        changes = replace(changes, name=" ".join(changes.name.split()))
    return store.update(address, changes)


# -- import / export ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    added: int
    updated: int
    errors: tuple[str, ...]


def import_file(settings: Settings, store: SubscriberStore, path: str | Path) -> ImportReport:
    """Add or update every good row; each bad row is reported with its line (CSV) or index (JSON)."""
    rows = _read_rows(Path(path))
    added = updated = 0
    errors: list[str] = []
    for where, row in rows:
        try:
            email, changes = _row_changes(row)
            if store.get(normalize_email(email)) is None:
                add(settings, store, email, changes, source="import")
                added += 1
            else:
                update(store, email, changes)
                updated += 1
        except InputError as exc:
            errors.append(f"{path}:{where}: {exc}")
    return ImportReport(added, updated, tuple(errors))


def _read_rows(path: Path) -> list[tuple[int, Mapping[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON array of subscribers")
        return [(i, row if isinstance(row, dict) else {}) for i, row in enumerate(data, start=1)]
    if path.suffix.lower() != ".csv":
        raise InputError(f"{path}: expected a .csv or .json file")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in reader.fieldnames:
        raise InputError(f"{path}:1: the header row must name the columns, including 'email'")
    unknown = [f for f in reader.fieldnames if f not in CSV_FIELDS]
    if unknown:
        raise InputError(f"{path}:1: unknown column '{unknown[0]}' (known: {', '.join(CSV_FIELDS)})")
    # line_num is the physical line the row ended on, which is what an editor shows.
    return [(reader.line_num, row) for row in reader]


def _row_changes(row: Mapping[str, Any]) -> tuple[str, SubscriberChanges]:
    email = row.get("email")
    if not isinstance(email, str) or not email.strip():
        raise InputError("missing email")

    def text(name: str) -> str | None:
        value = row.get(name)
        return None if value in (None, "") else str(value)

    def listed(name: str) -> tuple[str, ...] | None:
        value = row.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, list):
            return tuple(str(v) for v in value)
        return tuple(part for part in str(value).split(";"))

    def number(name: str, kind: type) -> Any:
        value = text(name)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            raise InputError(f"{name} {value!r} is not a number") from None

    frequency = text("frequency")
    try:
        freq = Frequency(frequency.lower()) if frequency else None
    except ValueError:
        raise InputError(f"frequency {frequency!r}: expected daily or weekly") from None
    return email, SubscriberChanges(
        name=text("name"),
        topics=listed("topics"),
        categories=listed("categories"),
        authors=listed("authors"),
        excluded=listed("excluded"),
        max_items=number("max_items", int),
        timezone=text("timezone"),
        send_hour=number("send_hour", int),
        frequency=freq,
        weekday=parse_weekday(text("weekday")),
    )


def export(subscribers: Iterable[Subscriber], fmt: str) -> str:
    records = [s.to_dict() for s in subscribers]
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in record.items()})
    return out.getvalue()
