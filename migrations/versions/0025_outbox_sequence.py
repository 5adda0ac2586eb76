"""The outbox's commit-order counter in one row (issue 19): a transaction numbers its events in
one statement, updating the row, instead of an advisory lock then an update reading max(seq).

The row starts at the highest number given so far, so numbering continues where it was.

Revision ID: 0025_outbox_sequence
Revises: 0023_partitioned_history
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_outbox_sequence"
down_revision = "0023_partitioned_history"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_sequence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_outbox_sequence_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_sequence")),
    )
    op.execute("INSERT INTO outbox_sequence (id, last) SELECT 1, coalesce(max(seq), 0) FROM events")


def downgrade():
    op.drop_table("outbox_sequence")
