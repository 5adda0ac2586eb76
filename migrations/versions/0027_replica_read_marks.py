"""Read-your-writes marks shared by every web process (network/read_marks.py): one row per
organization, the primary's WAL position after its last write. UNLOGGED on PostgreSQL (emptied by
a crash of the primary, which leaves reads held to the replica's lag bound); a plain table on
SQLite, which has no replica.

Revision ID: 0027_replica_read_marks
Revises: 0026_unsettle_early_lines
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_replica_read_marks"
down_revision = "0026_unsettle_early_lines"
branch_labels = None
depends_on = None


def upgrade():
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "replica_read_marks",
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lsn", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_replica_read_marks")),
        prefixes=unlogged,
    )


def downgrade():
    op.drop_table("replica_read_marks")
