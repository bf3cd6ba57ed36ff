"""The suppression list as an operator's file: exported and imported with the readers.

Export it with the readers (a move to another database must not let anyone be mailed who bounced, complained or
was erased), import it, or import addresses not to mail."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsletter.addresses import address_hash, normalize_email
from newsletter.errors import InputError
from newsletter.models import Suppression
from newsletter.readers.table_files import csv_text, extra_values, moment, read_rows, text_cells, unknown
from newsletter.store import SubscriberStore

COLUMNS = ("email_hash", "reason", "domain", "created_at")
# An import may give the address itself instead of its hash (a list of addresses not to mail): it is hashed
# here and only the hash and the domain are kept.
IMPORTED = ("email", *COLUMNS)
DEFAULT_REASON = "do not mail"
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SuppressionReport:
    new: int
    known: int
    stopped: tuple[str, ...]
    errors: tuple[str, ...]


def export(items: Iterable[Suppression], fmt: str) -> str:
    rows = [[s.email_hash, s.reason, s.domain or "", s.created_at.isoformat()] for s in items]
    if fmt == "json":
        return json.dumps([dict(zip(COLUMNS, row, strict=True)) for row in rows], indent=2) + "\n"
    return csv_text(COLUMNS, rows)


def import_file(store: SubscriberStore, path: str | Path) -> SuppressionReport:
    """Keep every good row (each bad one is reported with its line or index, and the rest still go in) and
    stop the readers they name."""
    items: list[Suppression] = []
    errors: list[str] = []
    now = datetime.now(UTC)
    for where, row in read_rows(Path(path), IMPORTED, "email_hash", "suppressions", also="email"):
        try:
            items.append(suppression(row, now))
        except InputError as exc:
            errors.append(f"{path}:{where}: {exc}")
    new, stopped = store.add_suppressions(items)
    return SuppressionReport(new, len({s.email_hash for s in items}) - new, tuple(stopped), tuple(errors))


def suppression(row: Mapping[str | None, Any], now: datetime) -> Suppression:
    """One row of an import; InputError names what is wrong with it."""
    extra_values(row)
    if problem := unknown(row, IMPORTED, "field"):
        raise InputError(problem)
    cells = text_cells(row, IMPORTED)
    key, domain = cells["email_hash"].lower(), cells["domain"].lower() or None
    if cells["email"]:
        address = normalize_email(cells["email"])
        if key and key != address_hash(address):
            raise InputError(f"email_hash is not the hash of {address}")
        key, domain = address_hash(address), domain or address.rpartition("@")[2]
    if not key:
        raise InputError("missing email_hash (or email)")
    if not _HASH.fullmatch(key):
        raise InputError(f"email_hash '{key[:70]}' is not a SHA-256 hash (64 hexadecimal digits)")
    reason = cells["reason"] or DEFAULT_REASON
    if len(reason) > 32 or not reason.isprintable():
        raise InputError(f"reason '{reason[:40]}' is not one line of at most 32 characters")
    if domain is not None and (len(domain) > 255 or not domain.isprintable() or " " in domain):
        raise InputError(f"domain '{domain[:40]}' is not a domain name")
    return Suppression(key, reason, domain, moment("created_at", cells["created_at"]) if cells["created_at"] else now)
