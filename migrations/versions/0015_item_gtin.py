"""retailer_items.gtin: the item's own GTIN, so that GTIN auto-match can find its sources

Revision ID: 0015_item_gtin
Revises: 0014_signup_attempts
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_item_gtin"
down_revision = "0014_signup_attempts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("retailer_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gtin", sa.String(length=14), nullable=True))
        batch_op.create_index("ix_retailer_items_retailer_id_gtin", ["retailer_id", "gtin"], unique=False)


def downgrade():
    with op.batch_alter_table("retailer_items", schema=None) as batch_op:
        batch_op.drop_index("ix_retailer_items_retailer_id_gtin")
        batch_op.drop_column("gtin")
