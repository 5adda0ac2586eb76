"""orders: an index for the console's search by reference prefix, in any case (PostgreSQL only)

Revision ID: 0018_order_search
Revises: 0017_team_invites
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_order_search"
down_revision = "0017_team_invites"
branch_labels = None
depends_on = None


def upgrade():
    # SQLite's LIKE would not use it (network/orders/models.py).
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_orders_retailer_id_reference_prefix",
            "orders",
            ["retailer_id", sa.text("lower(reference)")],
            unique=False,
            postgresql_ops={"lower(reference)": "text_pattern_ops"},
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_orders_retailer_id_reference_prefix", table_name="orders")
