"""Storefront connectors: connectors (credentials sealed), the platform orders they took in, listings

Revision ID: 0012_connectors
Revises: 0013_sftp_feeds
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_connectors"
down_revision = "0013_sftp_feeds"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "connectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("shop_url", sa.String(length=500), nullable=False),
        sa.Column("credentials_sealed", sa.Text(), nullable=False),
        sa.Column("location_id", sa.String(length=100), nullable=True),
        sa.Column("buffer", sa.Integer(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("orders_cursor", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("platform IN ('shopify', 'woocommerce')", name=op.f("ck_connectors_platform")),
        sa.CheckConstraint("status IN ('active', 'paused')", name=op.f("ck_connectors_status")),
        sa.CheckConstraint("buffer >= 0", name=op.f("ck_connectors_buffer")),
        sa.ForeignKeyConstraint(
            ["retailer_id"],
            ["organizations.id"],
            name=op.f("fk_connectors_retailer_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connectors")),
    )
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connectors_retailer_id"), ["retailer_id"], unique=False)

    op.create_table(
        "connector_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("retailer_sku", sa.String(length=100), nullable=False),
        sa.Column("platform_variant_id", sa.String(length=64), nullable=True),
        sa.Column("inventory_item_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_connector_listings_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_listings")),
        sa.UniqueConstraint(
            "connector_id", "retailer_sku", name=op.f("uq_connector_listings_connector_id_retailer_sku")
        ),
    )
    with op.batch_alter_table("connector_listings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_connector_listings_variant", ["connector_id", "platform_variant_id"], unique=False
        )

    op.create_table(
        "connector_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("platform_order_id", sa.String(length=64), nullable=False),
        sa.Column("platform_order_name", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ignored_lines", sa.JSON(), nullable=False),
        sa.Column("unfilled_lines", sa.JSON(), nullable=False),
        sa.Column("line_map", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_connector_orders_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_connector_orders_order_id_orders"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_orders")),
        sa.UniqueConstraint(
            "connector_id",
            "platform_order_id",
            name=op.f("uq_connector_orders_connector_id_platform_order_id"),
        ),
    )
    with op.batch_alter_table("connector_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connector_orders_order_id"), ["order_id"], unique=False)


def downgrade():
    with op.batch_alter_table("connector_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connector_orders_order_id"))

    op.drop_table("connector_orders")
    with op.batch_alter_table("connector_listings", schema=None) as batch_op:
        batch_op.drop_index("ix_connector_listings_variant")

    op.drop_table("connector_listings")
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connectors_retailer_id"))

    op.drop_table("connectors")
