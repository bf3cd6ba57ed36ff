"""reader link keys: a random value on each subscriber that every link token carries, ids never reused,
no pickled settings in the scheduler's job store

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_TABLE = "apscheduler_jobs"  # made by APScheduler itself (schedule.py), not by a migration


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_key", sa.String(length=32), nullable=True))
    subscribers = sa.table("subscribers", sa.column("id", sa.Integer), sa.column("link_key", sa.String))
    ids = bind.execute(sa.select(subscribers.c.id)).scalars().all()
    if ids:
        bind.execute(
            subscribers.update().where(subscribers.c.id == sa.bindparam("row_id")).values(link_key=sa.bindparam("key")),
            [{"row_id": row_id, "key": secrets.token_urlsafe(12)} for row_id in ids],
        )
    # On SQLite the table is rebuilt with AUTOINCREMENT, so a forgotten reader's id is never handed to the
    # next one (Database.upgrade runs this with foreign keys off: the rebuild drops the old table).
    with op.batch_alter_table(
        "subscribers",
        schema=None,
        recreate="always" if bind.dialect.name == "sqlite" else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.alter_column("link_key", existing_type=sa.String(length=32), nullable=False)
    # Stored jobs used to pickle the whole Settings object, SMTP password and secret key included; the
    # scheduler re-adds its jobs (with no arguments) at its next start.
    if JOB_TABLE in sa.inspect(bind).get_table_names():
        op.execute(sa.text(f"DELETE FROM {JOB_TABLE}"))


def downgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("link_key")
