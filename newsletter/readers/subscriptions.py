"""Operator actions on subscribers: validate input, then call the store; CSV/JSON import and export."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from newsletter.addresses import normalize_email
from newsletter.config import Settings
from newsletter.errors import InputError
from newsletter.models import STOPPED, Consent, Frequency, Preferences, Status, Subscriber, SubscriberChanges
from newsletter.readers.fields import EXPORTED, LIST_FIELDS, SCALAR_FIELDS, read_all, record
from newsletter.readers.table_files import csv_text, extra_values, moment, read_rows, text_cells, unknown
from newsletter.store import SubscriberStore

# The record of consent travels with the reader (a move to another database must not lose who agreed, when,
# from where), as the store keeps it; an import without it records the import as the source.
CONSENT_COLUMNS = ("consent_source", "consent_at", "consent_ip", "consent_user_agent", "consent_form")
# The columns of a CSV export and import, the keys of a JSON one: the address, every preference, the status
# and feedback, then the record of consent.
COLUMNS = ("email", *(f.name for f in EXPORTED), *CONSENT_COLUMNS)


def validate_changes(changes: SubscriberChanges) -> SubscriberChanges:
    """Check every field that is set (lists come back cleaned); InputError names the first bad one."""
    checked = {f.name: f.check(getattr(changes, f.name)) for f in EXPORTED if getattr(changes, f.name) is not None}
    if changes.frequency is Frequency.WEEKLY and changes.weekday is None:
        raise InputError("a weekly subscription needs a weekday (monday..sunday)")
    return replace(changes, **checked)


def weekday_is_weekly(changes: SubscriberChanges, current: Subscriber | None = None) -> None:
    """An operator's --weekday for a reader who will not be weekly is a mistake to say, not to drop (the web
    form and an import may carry a weekday for a daily reader: they do not call this)."""
    frequency = changes.frequency or (current.frequency if current else Frequency.DAILY)
    if changes.weekday is not None and frequency is not Frequency.WEEKLY:
        raise InputError("--weekday is for a weekly subscription: add --frequency weekly")


def add(
    settings: Settings,
    store: SubscriberStore,
    email: str,
    changes: SubscriberChanges,
    status: Status = Status.ACTIVE,
    source: str = "cli",
    consent: Consent | None = None,
) -> Subscriber:
    """A new subscriber; from the CLI an operator's act, so active at once (the web adds pending ones, an
    import the status in its file)."""
    address = normalize_email(email)
    changes = validate_changes(changes)
    digest = settings.digest
    # What the reader did not choose comes from the configuration (these three) or the model's defaults.
    chosen: dict[str, Any] = {
        "timezone": digest.default_timezone,
        "send_hour": digest.default_send_hour,
        "max_items": digest.max_items,
    }
    chosen |= {f.name: getattr(changes, f.name) for f in EXPORTED if getattr(changes, f.name) is not None}
    if chosen.get("frequency") is not Frequency.WEEKLY:
        chosen.pop("weekday", None)
    subscriber = Subscriber(
        id=0,
        email=address,
        status=changes.status or status,
        preferences=Preferences(**{f.name: chosen[f.name] for f in LIST_FIELDS if f.name in chosen}),
        consent_source=source,
        consent=consent,
        **{f.name: chosen[f.name] for f in SCALAR_FIELDS if f.name in chosen},
    )
    return store.add(subscriber)


def update(store: SubscriberStore, email: str, changes: SubscriberChanges) -> Subscriber:
    address = normalize_email(email)
    current = store.require(address)
    # A file (perhaps an export older than their unsubscribe) never brings back a reader who was stopped.
    if current.status in STOPPED and changes.status not in (None, current.status, Status.BOUNCED):
        raise InputError(f"{address} is {current.status}; an import does not make them {changes.status}")
    if changes.frequency is Frequency.WEEKLY and changes.weekday is None:
        changes = replace(changes, weekday=current.weekday)
    return store.update(address, validate_changes(changes))


# -- import / export ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    added: int
    updated: int
    errors: tuple[str, ...]
    unchanged: int = 0  # rows that said what was stored already


def pause(store: SubscriberStore, email: str) -> Subscriber:
    """An operator's `pause`: of an active reader only. A reader who left, bounced or never confirmed is not
    paused: `resume` would then mail them."""
    found = store.require(email)
    if found.status not in (Status.ACTIVE, Status.PAUSED):
        raise InputError(f"{found.email} is {found.status}, not active: there is nothing to pause")
    return store.set_status(found.email, Status.PAUSED)


def resume(store: SubscriberStore, email: str, reader_asked: bool = False, by_reader: bool = False) -> Subscriber:
    """An operator's `resume`: a paused or bounced reader is active again; one who unsubscribed themselves
    only when the operator says the reader asked to come back (an opt-out is the reader's to undo); one who
    signed up on the web only through their confirmation link (double opt-in). The reader's own button
    (`by_reader`, their preferences page) undoes their pause or opt-out, never a bounce: that address is
    suppressed until an operator looks at it."""
    found = store.require(email)
    if by_reader and found.status is Status.BOUNCED:
        raise InputError(f"{found.email} bounced: only an operator can resume it")
    reader_asked = reader_asked or by_reader
    if found.status is Status.PENDING:
        raise InputError(
            f"{found.email} has not confirmed their sign-up: only their confirmation link makes them active "
            "(if they gave you their consent otherwise, import them with status active)"
        )
    if found.status is Status.UNSUBSCRIBED and not reader_asked:
        when = f" on {found.unsubscribed_at:%Y-%m-%d}" if found.unsubscribed_at else ""
        raise InputError(
            f"{found.email} unsubscribed{when}: only they can subscribe again (the sign-up page), or pass "
            "--reader-asked if they asked you to"
        )
    if found.status is Status.BOUNCED:
        return store.unbounce(found.email)
    return store.set_status(found.email, Status.ACTIVE)


def import_file(settings: Settings, store: SubscriberStore, path: str | Path) -> ImportReport:
    """Add or update every good row; each bad row is reported with its line (CSV) or index (JSON)."""
    rows = read_rows(Path(path), COLUMNS, "email", "subscribers")
    added = updated = unchanged = 0
    errors: list[str] = []
    for where, row in rows:
        try:
            email, changes = _row_changes(row)
            before = store.get(normalize_email(email))
            if before is None:
                source, consent = _consent_from(row)
                add(settings, store, email, changes, source=source, consent=consent)
                added += 1
            elif update(store, email, changes) == before:
                unchanged += 1
            else:
                updated += 1
        except InputError as exc:
            errors.append(f"{path}:{where}: {exc}")
    return ImportReport(added, updated, tuple(errors), unchanged)


def _row_changes(row: Mapping[str | None, Any]) -> tuple[str, SubscriberChanges]:
    extra_values(row)
    if problem := unknown(row, COLUMNS, "field"):
        raise InputError(problem)
    email = text_cells(row, ("email",))["email"]
    if not email:
        raise InputError("missing email")
    return email, SubscriberChanges(**read_all(lambda field: row.get(field.name), EXPORTED))


def export(subscribers: Iterable[Subscriber], fmt: str) -> str:
    """Every reader's address, preferences, status, feedback and record of consent; importing the result into
    an empty database exports the same."""
    if fmt == "json":
        records = [
            {"email": s.email, **record(s), **dict(zip(CONSENT_COLUMNS, _consent_cells(s), strict=True))}
            for s in subscribers
        ]
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    return csv_text(
        COLUMNS, ([s.email, *(f.kind.write(f.get(s)) for f in EXPORTED), *_consent_cells(s)] for s in subscribers)
    )


def _consent_cells(subscriber: Subscriber) -> list[str]:
    consent = subscriber.consent
    if consent is None:
        return [subscriber.consent_source, "", "", "", ""]
    return [subscriber.consent_source, consent.at.isoformat(), consent.ip or "", consent.user_agent, consent.form]


def _consent_from(row: Mapping[str | None, Any]) -> tuple[str, Consent | None]:
    """The source and record of consent in an import's row (none given: the import is the source)."""
    cells = text_cells(row, CONSENT_COLUMNS)
    source = cells["consent_source"] or "import"
    if len(source) > 16:
        raise InputError(f"consent_source: '{source[:40]}' is longer than 16 characters")
    if not cells["consent_at"]:
        return source, None
    at = moment("consent_at", cells["consent_at"])
    ip = cells["consent_ip"] or None
    return source, Consent(at, ip, cells["consent_user_agent"][:300], cells["consent_form"][:32])
