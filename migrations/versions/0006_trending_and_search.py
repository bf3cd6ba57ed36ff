"""trending scores, the trending section of a digest, quiet days, and full-text search over papers

papers.trending (stored, see newsletter/trending.py), subscribers.trending_items, digest_items.trending;
SQLite: an FTS5 index kept in sync by triggers; PostgreSQL: a generated tsvector column with a GIN index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import math
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of newsletter.trending at this revision: a migration must not change when the code does.
_EPOCH = date(2020, 1, 1)

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, authors, content='papers', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN "
    "INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (new.id, new.title, new.abstract, new.authors); "
    "END",
    "CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN "
    "INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors) "
    "VALUES ('delete', old.id, old.title, old.abstract, old.authors); END",
    "CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors ON papers BEGIN "
    "INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors) "
    "VALUES ('delete', old.id, old.title, old.abstract, old.authors); "
    "INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (new.id, new.title, new.abstract, new.authors); "
    "END",
    "INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')",
]
# Title weighs most, then the abstract, then author names (matched without stemming).
POSTGRESQL_FTS = [
    "ALTER TABLE papers ADD COLUMN search tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(abstract, '')), 'B') || "
    "setweight(to_tsvector('simple', coalesce(authors::text, '')), 'C')) STORED",
    "CREATE INDEX ix_papers_search ON papers USING gin (search)",
]


def _score(upvotes: int | None, comments: int | None, day: date | None) -> float:
    votes = (upvotes or 0) + 2 * (comments or 0)
    return round(math.log2(1 + max(votes, 0)) + ((day - _EPOCH).days / 2.0 if day else 0.0), 6)


def upgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trending", sa.Float(), nullable=True))
        batch_op.create_index("ix_papers_trending", ["trending"])
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trending_items", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("digest_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trending", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_days", sa.String(length=120), nullable=True))

    bind = op.get_bind()
    papers = sa.table(
        "papers",
        sa.column("id", sa.Integer),
        sa.column("upvotes", sa.Integer),
        sa.column("num_comments", sa.Integer),
        sa.column("announced", sa.Date),
        sa.column("published", sa.DateTime),
        sa.column("trending", sa.Float),
    )
    rows = bind.execute(
        sa.select(papers.c.id, papers.c.upvotes, papers.c.num_comments, papers.c.announced, papers.c.published)
    ).all()
    scores = []
    for pk, upvotes, comments, announced, published in rows:
        day = announced or (published.date() if published else None)
        scores.append({"pk": pk, "score": _score(upvotes, comments, day)})
    if scores:
        bind.execute(
            papers.update().where(papers.c.id == sa.bindparam("pk")).values(trending=sa.bindparam("score")), scores
        )

    for statement in SQLITE_FTS if bind.dialect.name == "sqlite" else POSTGRESQL_FTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("papers_fts_insert", "papers_fts_delete", "papers_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS papers_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_papers_search")
        op.execute("ALTER TABLE papers DROP COLUMN IF EXISTS search")
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_column("quiet_days")
    with op.batch_alter_table("digest_items", schema=None) as batch_op:
        batch_op.drop_column("trending")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("trending_items")
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_index("ix_papers_trending")
        batch_op.drop_column("trending")
