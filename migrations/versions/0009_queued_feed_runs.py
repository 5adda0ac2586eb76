"""feed_runs: queued runs (large pushes applied by the worker); mode and basis may wait for the body

Revision ID: 0009_queued_feed_runs
Revises: 0007_event_sequence
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_queued_feed_runs"
down_revision = "0007_event_sequence"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("feed_runs", schema=None) as batch_op:
        batch_op.alter_column("mode", existing_type=sa.String(16), nullable=True)
        batch_op.alter_column("basis", existing_type=sa.String(16), nullable=True)
    op.create_index(
        "ix_feed_runs_queued",
        "feed_runs",
        ["vendor_id", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )


def downgrade():
    op.drop_index("ix_feed_runs_queued", table_name="feed_runs")
    # A queued JSON push has no mode yet; it cannot survive the old schema.
    op.execute("DELETE FROM feed_runs WHERE mode IS NULL OR basis IS NULL")
    with op.batch_alter_table("feed_runs", schema=None) as batch_op:
        batch_op.alter_column("basis", existing_type=sa.String(16), nullable=False)
        batch_op.alter_column("mode", existing_type=sa.String(16), nullable=False)
