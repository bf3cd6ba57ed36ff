"""The newest migration, remembered per content of the scripts so that a short command need not load Alembic."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

# Alembic's answer to "which revision is the head?", kept in the cache folder: reading the scripts imports
# Alembic and every revision, most of what a short command would otherwise spend.
HEAD_CACHE = "migrations-head.json"


def fingerprint(migrations_dir: str) -> str:
    """What the migration scripts hold: their names and bytes."""
    scripts = sorted(Path(migrations_dir).glob("versions/*.py"))
    return hashlib.sha256(b"".join(p.name.encode() + b"\0" + p.read_bytes() for p in scripts)).hexdigest()


def remembered(cache_dir: Path | None, scripts: str) -> str | None:
    """The head kept for scripts of this fingerprint, or None when the cache holds none for them."""
    if cache_dir is None:
        return None
    try:
        kept = json.loads((cache_dir / HEAD_CACHE).read_text())
    except (OSError, ValueError):
        return None
    return kept.get("head") if isinstance(kept, dict) and kept.get("fingerprint") == scripts else None


def remember(cache_dir: Path | None, scripts: str, head: str | None) -> None:
    """Keep the head Alembic found for scripts of this fingerprint; a cache that cannot be written costs the
    next command its start-up time, nothing else."""
    if cache_dir is None:
        return
    cache = cache_dir / HEAD_CACHE
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"fingerprint": scripts, "head": head}))
        partial.replace(cache)  # atomic: another process reads all of it or the old one
    except OSError:
        pass
