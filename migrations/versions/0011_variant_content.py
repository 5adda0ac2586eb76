"""vendor_variants: the content retailers list a product with (description, images, MAP, weight)

Revision ID: 0011_variant_content
Revises: 0003_feeds, 0004_portal, 0005_webhooks, 0006_flags, 0009_queued_feed_runs
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_variant_content"
down_revision = ("0003_feeds", "0004_portal", "0005_webhooks", "0006_flags", "0009_queued_feed_runs")
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("vendor_variants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("map_price", sa.Numeric(12, 4), nullable=True))
        batch_op.add_column(sa.Column("weight", sa.Numeric(12, 4), nullable=True))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("image_urls", sa.JSON(), nullable=False, server_default="[]"))
    # The defaults only fill existing rows; the model gives new rows theirs.
    with op.batch_alter_table("vendor_variants", schema=None) as batch_op:
        batch_op.alter_column("description", server_default=None)
        batch_op.alter_column("image_urls", server_default=None)


def downgrade():
    with op.batch_alter_table("vendor_variants", schema=None) as batch_op:
        batch_op.drop_column("image_urls")
        batch_op.drop_column("description")
        batch_op.drop_column("weight")
        batch_op.drop_column("map_price")
