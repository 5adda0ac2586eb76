"""Connector sync: the outbox cursor and lease of a connector, listings' last sent figure, write-backs done

Revision ID: 0012_connector_sync
Revises: 0012_connectors
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_connector_sync"
down_revision = "0012_connectors"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("connector_listings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform_product_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_sent", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("connector_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("written_back", sa.JSON(), nullable=False, server_default="[]"))

    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "events_seq",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=False,
                server_default="0",
            )
        )
        batch_op.add_column(sa.Column("sync_lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.drop_column("sync_lease_until")
        batch_op.drop_column("events_seq")

    with op.batch_alter_table("connector_orders", schema=None) as batch_op:
        batch_op.drop_column("written_back")

    with op.batch_alter_table("connector_listings", schema=None) as batch_op:
        batch_op.drop_column("pending")
        batch_op.drop_column("last_sent_at")
        batch_op.drop_column("last_sent")
        batch_op.drop_column("platform_product_id")
