"""mail that comes back: bounce, complaint and unsubscribe events; the domain of a suppressed address

mail_events: one row per report read (DSN, ARF complaint, mailto: unsubscribe, or one that proved nothing),
keyed by a hash of the message so a report read twice counts once; deliveries.message_id indexed (a
report quoting a Message-ID is tied to its delivery by it). suppressions.domain: the recipient
domain for `status --deliverability` (left empty for `forget`, which keeps nothing but the hash).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )
    op.create_index("ix_mail_events_domain", "mail_events", ["domain", "occurred_at"])
    op.create_index("ix_mail_events_subscriber", "mail_events", ["subscriber_id", "kind", "occurred_at"])
    op.create_index("ix_mail_events_delivery_id", "mail_events", ["delivery_id"])
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("domain", sa.String(length=255), nullable=True))
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_message_id", table_name="deliveries")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_column("domain")
    op.drop_index("ix_mail_events_delivery_id", table_name="mail_events")
    op.drop_index("ix_mail_events_subscriber", table_name="mail_events")
    op.drop_index("ix_mail_events_domain", table_name="mail_events")
    op.drop_table("mail_events")
