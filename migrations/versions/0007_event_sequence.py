"""events.seq: commit-order numbers for the outbox cursors

Revision ID: 0007_event_sequence
Revises: 0001_hub_schema
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_event_sequence"
down_revision = "0001_hub_schema"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    # Events written before this revision were committed in id order as far as anyone can tell now.
    op.execute("UPDATE events SET seq = id")
    op.create_index("ix_events_org_seq", "events", ["org_id", "seq"], unique=False)
    op.create_index("uq_events_seq", "events", ["seq"], unique=True)
    op.create_index(
        "ix_events_unsequenced",
        "events",
        ["id"],
        unique=False,
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )


def downgrade():
    op.drop_index("ix_events_unsequenced", table_name="events")
    op.drop_index("uq_events_seq", table_name="events")
    op.drop_index("ix_events_org_seq", table_name="events")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("seq")
