"""flags: at-risk order lines, oversell holds on variants, vendor-notice cursor and claims

Revision ID: 0006_flags
Revises: 0002_orders
Create Date: 2026-11-25 09:00:00

Hand-written (a branch of the orders revision: flags hang on order and purchase-order lines).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_flags"
down_revision = "0002_orders"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("po_line_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lead_time_seconds", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('shortfall', 'ack_overdue', 'ship_overdue', 'stale_feed', 'vendor_rejected',"
            " 'vendor_cancelled')",
            name=op.f("ck_flags_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_flags_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_flags_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["po_line_id"],
            ["purchase_order_lines.id"],
            name=op.f("fk_flags_po_line_id_purchase_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["retailer_id"],
            ["organizations.id"],
            name=op.f("fk_flags_retailer_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_flags_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
    )
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flags_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_flags_retailer_id_id", ["retailer_id", "id"], unique=False)
        batch_op.create_index("ix_flags_po_line_id_kind", ["po_line_id", "kind"], unique=False)
        batch_op.create_index("ix_flags_vendor_id_resolved_at", ["vendor_id", "resolved_at"], unique=False)

    op.create_table(
        "variant_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("po_line_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=16), nullable=True),
        sa.Column("lifted_by_org_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["po_line_id"],
            ["purchase_order_lines.id"],
            name=op.f("fk_variant_holds_po_line_id_purchase_order_lines"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["vendor_variants.id"],
            name=op.f("fk_variant_holds_variant_id_vendor_variants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_variant_holds_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variant_holds")),
    )
    with op.batch_alter_table("variant_holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_variant_holds_variant_id_lifted_at", ["variant_id", "lifted_at"], unique=False
        )
        batch_op.create_index("ix_variant_holds_vendor_id_id", ["vendor_id", "id"], unique=False)

    op.create_table(
        "vendor_notice_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_txid", sa.BigInteger(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_vendor_notice_cursors")),
    )
    op.create_table(
        "vendor_notice_claims",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=True),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_vendor_notice_claims_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_vendor_notice_claims")),
    )


def downgrade():
    op.drop_table("vendor_notice_claims")
    op.drop_table("vendor_notice_cursors")
    with op.batch_alter_table("variant_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_variant_holds_vendor_id_id")
        batch_op.drop_index("ix_variant_holds_variant_id_lifted_at")
    op.drop_table("variant_holds")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index("ix_flags_vendor_id_resolved_at")
        batch_op.drop_index("ix_flags_po_line_id_kind")
        batch_op.drop_index("ix_flags_retailer_id_id")
        batch_op.drop_index(batch_op.f("ix_flags_order_id"))
    op.drop_table("flags")
