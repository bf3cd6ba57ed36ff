"""SQLite: FTS5 gathers up to 16 MiB of new index terms in memory before it writes them as one segment

With FTS5's default (1 MiB) a batch of 5,000 snapshot records was flushed as several small segments that
automerge then rewrote, again and again: 18% of the index's CPU on the shared corpus (100,133 records in
batches of 5,000: 12.7 s against 10.4 s, `benchmarks/snapshot_import.py` for the whole import). Searches are
unchanged (same terms, same ranking); only a writer's memory grows, by at most this much. PostgreSQL: nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASHSIZE = 16 * 1024 * 1024
DEFAULT_HASHSIZE = 1024 * 1024


def _set_hashsize(size: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', {size})")


def upgrade() -> None:
    _set_hashsize(HASHSIZE)


def downgrade() -> None:
    _set_hashsize(DEFAULT_HASHSIZE)
