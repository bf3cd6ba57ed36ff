"""web sign-up: the consent record (user agent, form version) and the confirmation-mail log for rate limits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_user_agent", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("consent_form", sa.String(length=32), nullable=True))
    op.create_table(
        "signup_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signup_requests_email_hash", "signup_requests", ["email_hash", "created_at"])
    op.create_index("ix_signup_requests_ip", "signup_requests", ["ip", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_signup_requests_ip", table_name="signup_requests")
    op.drop_index("ix_signup_requests_email_hash", table_name="signup_requests")
    op.drop_table("signup_requests")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("consent_form")
        batch_op.drop_column("consent_user_agent")
