"""The shared corpus of real papers imported as background through `newsletter ingest --format arxiv-metadata`,
once, into a SQLite file under benchmarks/.cache (keyed by the corpus's size and time and the ids left out),
for the relevance evaluation and the benchmarks.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT.parent.parent / "shared" / "corpus" / "arxiv-metadata-100k.jsonl.gz"
CACHE = ROOT / ".cache"


def records(corpus: Path = CORPUS) -> Iterator[dict]:
    with gzip.open(corpus, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def background_db(left_out: set[str], corpus: Path = CORPUS) -> Path | None:
    """A SQLite file holding the corpus less `left_out` as background papers (None without the corpus)."""
    if not corpus.exists():
        return None
    stat = corpus.stat()
    digest = hashlib.sha256(" ".join(sorted(left_out)).encode()).hexdigest()[:12]
    path = CACHE / f"background-{stat.st_size}-{int(stat.st_mtime)}-{digest}.db"
    if path.exists():
        return path
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        sliced = Path(folder) / "background.jsonl.gz"
        with gzip.open(corpus, "rt", encoding="utf-8") as src, gzip.open(sliced, "wt", encoding="utf-8") as out:
            for line in src:
                if json.loads(line)["id"] not in left_out:
                    out.write(line)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        import_file(f"sqlite:///{partial}", sliced)
    with sqlite3.connect(partial) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file that is renamed
    partial.rename(path)
    for leftover in (Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    return path


def import_file(url: str, path: Path) -> None:
    """The product's own import, as a user runs it."""
    from newsletter.cli import main

    env = {"NEWSLETTER_DATABASE_URL": url}
    for args in (["db", "upgrade"], ["ingest", "--file", str(path), "--format", "arxiv-metadata"]):
        result = CliRunner().invoke(main, args, env=env)
        if result.exit_code:
            raise SystemExit(f"importing the background failed: {result.output}")
