"""An operator's CSV (header row) or JSON (array of objects) file as rows, each with its line or index."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsletter.errors import InputError
from newsletter.readers.fields import wrong_type
from newsletter.sources.text import json_integer

Rows = list[tuple[int, Mapping[str | None, Any]]]


def read_rows(path: Path, columns: Sequence[str], needs: str, what: str, also: str | None = None) -> Rows:
    """Every row of the file; the header (CSV) must name `needs` (or `also` in its place) and only known
    columns, once each. `what` names the rows in messages ("subscribers")."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, parse_int=json_integer)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON array of {what}")
        return [(i, row if isinstance(row, dict) else {}) for i, row in enumerate(data, start=1)]
    if path.suffix.lower() != ".csv":
        raise InputError(f"{path}: expected a .csv or .json file")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames:  # "Email", " name ": a spreadsheet's header, read as the export writes it
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    if not reader.fieldnames or not {needs, also} & set(reader.fieldnames):
        either = f"'{needs}'" + (f" or '{also}'" if also else "")
        raise InputError(f"{path}:1: the header row must name the columns, including {either}")
    if problem := unknown(reader.fieldnames, columns, "column"):
        raise InputError(f"{path}:1: {problem}")
    if twice := next((name for name in reader.fieldnames if reader.fieldnames.count(name) > 1), None):
        raise InputError(f"{path}:1: the header names the column '{twice}' twice (which one holds the value?)")
    # line_num is the physical line the row ended on, which is what an editor shows.
    return [(reader.line_num, row) for row in reader]


def unknown(names: Iterable[str | None], columns: Sequence[str], noun: str) -> str | None:
    """The first name that is no column of an export, said as a problem: a misspelt one would set nothing."""
    found = [name for name in names if name not in columns]
    return f"unknown {noun} '{found[0]}' (known: {', '.join(columns)})" if found else None


def extra_values(row: Mapping[str | None, Any]) -> None:
    """csv.DictReader files values past the header's columns under None: a row that does not fit its header."""
    if None in row:
        raise InputError("more values than the header row has columns")


def text_cells(row: Mapping[str | None, Any], names: Sequence[str]) -> dict[str, str]:
    """These fields of a row as stripped text ("" when not given); InputError for a JSON value not text."""
    cells = {}
    for name in names:
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            raise wrong_type(name, value, "text")
        cells[name] = (value or "").strip()
    return cells


def moment(name: str, text: str) -> datetime:
    """A cell's date and time, which must carry its offset (a time without one means a different instant in
    each zone)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InputError(f"{name}: '{text[:40]}' is not a date and time with its offset (ISO 8601)")
    try:
        at.astimezone(UTC)  # as the store keeps it: 9999-12-31T23:59-05:00 is past the last year there is
    except OverflowError:
        raise InputError(f"{name}: '{text[:40]}' is out of range") from None
    return at


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
