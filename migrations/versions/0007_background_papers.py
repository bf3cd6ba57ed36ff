"""background papers: bulk-imported knowledge for the ranker, never mailed as new

papers.background is true for papers from arXiv's metadata snapshot (`ingest --format arxiv-metadata`) until
a feed announces them. They carry no announcement date, so every query of a day or a window leaves them out.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild): the full-text triggers of 0006 stay as they are.
    op.add_column("papers", sa.Column("background", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("background")
