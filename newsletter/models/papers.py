"""A paper as the sources give it and the store keeps it, a feed run's result, two sources' news of it merged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property


@dataclass(frozen=True)
class Paper:
    """One paper, identified by its bare arXiv id; the version is kept apart."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    version: int | None = None
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    announced: date | None = None
    comment: str | None = None
    upvotes: int | None = None
    num_comments: int | None = None
    github_url: str | None = None
    project_url: str | None = None
    ai_summary: str | None = None
    sources: tuple[str, ...] = ()
    # Bulk-imported (or back-filled) knowledge: searchable and used by the ranker, never mailed as new.
    background: bool = False

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of everything this record says: the store knows a source's unchanged record by it.
        Kept once made (and carried with the paper when it is pickled), so the snapshot's reader process
        works it out on its own core."""
        return hashlib.blake2b(repr(self).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Validators:
    """What a server said identifies its answer, sent back on the next request (conditional GET)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    error: str | None = None
    validators: Validators | None = None
    problems: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """The source failed, or some of its entries could not be used."""
        return self.status in ("error", "partial")


def merge_papers(old: Paper, new: Paper) -> Paper:
    """What two sources know of one paper, combined: the newer version wins; gaps are filled from either."""
    newer, other = (new, old) if (new.version or 0) >= (old.version or 0) else (old, new)
    announced = min((d for d in (old.announced, new.announced) if d is not None), default=None)
    return Paper(
        id=old.id,
        title=newer.title or other.title,
        abstract=newer.abstract or other.abstract,
        authors=newer.authors or other.authors,
        version=newer.version or other.version,
        categories=new.categories or old.categories,
        primary_category=new.primary_category or old.primary_category,
        published=old.published or new.published,
        updated=newer.updated or other.updated,
        announced=announced,
        comment=new.comment or old.comment,
        upvotes=new.upvotes if new.upvotes is not None else old.upvotes,
        num_comments=new.num_comments if new.num_comments is not None else old.num_comments,
        github_url=new.github_url or old.github_url,
        project_url=new.project_url or old.project_url,
        ai_summary=new.ai_summary or old.ai_summary,
        sources=tuple(dict.fromkeys(old.sources + new.sources)),
        # An announcement makes a background paper news; a bulk import never makes news background.
        background=old.background and new.background,
    )
