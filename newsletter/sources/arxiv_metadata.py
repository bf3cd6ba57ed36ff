"""arXiv's bulk metadata snapshot (JSON lines, optionally gzipped) -> background Papers, streamed in batches.

The snapshot is what arXiv publishes for bulk use (`arxiv-metadata-oai-snapshot.json`): one object a line with
`id`, `title`, `abstract`, `authors` (one string), `categories` (space-separated, primary first) and keys we
ignore. Its papers are background: searchable and used by the ranker, never mailed as new. Millions of lines
must pass through in flat memory, so records are read one line at a time and handed out in batches.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsletter.errors import FeedError
from newsletter.models import Paper
from newsletter.sources.ids import split_arxiv_id
from newsletter.sources.text import json_integer, json_text, squash

SOURCE = "arxiv-metadata"
BATCH = 5000
# One line is one paper: a line longer than this is not a record of the snapshot.
MAX_LINE = 1 << 20
# "A, B and C" / "A, B, and C": the snapshot joins names with commas and a final "and".
_AUTHOR_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
# Some records glue "and" to the name before it ("Xiangyu Kongand Xiaoxia Xingand Fan Wang"), so hundreds of
# names read as one. A "name" this long is split there; a real name never is (nor does one end in "and"
# and run on for a hundred characters).
_GLUED_AND = re.compile(r"(?<=[a-z.])and(?: (?=[A-Z])|$)")
RUN_ON_NAME = 100


@dataclass(frozen=True)
class Batch:
    """Papers from consecutive lines, the problems met on the way, and how far into the file we are."""

    papers: tuple[Paper, ...]
    problems: tuple[str, ...]
    lines: int
    bytes_read: int
    file_size: int


def batches(path: str | Path, per_batch: int = BATCH) -> Iterator[Batch]:
    """Every record of the snapshot as Papers, `per_batch` at a time; a bad line is a problem, never fatal.

    Gzip is recognised by its magic bytes, not the name. `bytes_read` counts the bytes of the file on disk
    (compressed when gzipped), to set against `file_size`.
    """
    where = str(path)
    try:
        raw = Path(path).open("rb")  # noqa: SIM115 - closed by the `with` below; opened here to name the error
    except OSError as exc:
        raise FeedError(f"cannot read metadata file {path}: {exc.strerror}") from None
    with raw:
        size = os.fstat(raw.fileno()).st_size
        stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == b"\x1f\x8b" else raw
        papers: list[Paper] = []
        problems: list[str] = []
        number = 0
        try:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    papers.append(parse_record(line, f"{where}: line {number}"))
                except FeedError as exc:
                    problems.append(str(exc))
                if len(papers) >= per_batch:
                    yield Batch(tuple(papers), tuple(problems), number, raw.tell(), size)
                    papers, problems = [], []
        except (OSError, EOFError) as exc:
            problems.append(f"{where}: unreadable after line {number}: {exc}")
        yield Batch(tuple(papers), tuple(problems), number, raw.tell(), size)


def parse_record(line: bytes, where: str) -> Paper:
    """One line of the snapshot as a background Paper."""
    if len(line) > MAX_LINE:
        raise FeedError(f"{where}: line of {len(line)} bytes is too long for a record")
    try:
        record: Any = json.loads(line, parse_int=json_integer)
    except UnicodeDecodeError as exc:
        raise FeedError(f"{where}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise FeedError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise FeedError(f"{where}: expected a JSON object, got {type(record).__name__}")
    try:
        arxiv_id, version = split_arxiv_id(_text(record, "id", where))
    except FeedError as exc:
        raise FeedError(f"{where}: {exc}") from None
    title = squash(_text(record, "title", where))
    if not title:
        raise FeedError(f"{where}: paper {arxiv_id} has no title")
    categories = tuple(_text(record, "categories", where).split())
    return Paper(
        id=arxiv_id,
        version=version,
        title=title,
        abstract=squash(_text(record, "abstract", where)),
        authors=_authors(_text(record, "authors", where)),
        categories=categories,
        primary_category=categories[0] if categories else None,
        sources=(SOURCE,),
        background=True,
    )


def _authors(text: str) -> tuple[str, ...]:
    names = (squash(n) for n in _AUTHOR_SPLIT.split(text))
    return tuple(
        part
        for name in names
        if name
        for part in (_GLUED_AND.split(name) if len(name) > RUN_ON_NAME else (name,))
        if part
    )


def _text(record: dict[str, Any], key: str, where: str) -> str:
    return json_text(record.get(key), f"{where}: '{key}'")
