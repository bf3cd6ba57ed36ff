"""Author names stored as written: JSON without \\u escapes, so that search finds "Zoë" and "李小龙"

Both full-text indexes (SQLite's FTS5 table, PostgreSQL's tsvector) read the authors column as text, and
json.dumps had written every letter outside ASCII as an escape ("Zo\\u00eb"): searching for an accented or
Chinese name found nothing. New rows are written as they read (the engine's JSON serializer); the rows
stored before are rewritten here, which their triggers index again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        select = "SELECT id, authors::text FROM papers WHERE strpos(authors::text, chr(92)) > 0"
        update = "UPDATE papers SET authors = CAST(:authors AS json) WHERE id = :id"
    else:
        select = "SELECT id, authors FROM papers WHERE instr(authors, char(92)) > 0"
        update = "UPDATE papers SET authors = :authors WHERE id = :id"
    rewritten = []
    for paper_id, stored in bind.execute(sa.text(select)):
        as_written = json.dumps(json.loads(stored), ensure_ascii=False)
        if as_written != stored:
            rewritten.append({"id": paper_id, "authors": as_written})
    if rewritten:
        bind.execute(sa.text(update), rewritten)


def downgrade() -> None:
    pass  # the same JSON values: nothing to undo
