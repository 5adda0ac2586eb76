"""Predictive availability (issue 18): retailers' availability settings, per-variant depletion
estimates, per-vendor priors and import delays

Revision ID: 0019_predictive_availability
Revises: 0018_order_search
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_predictive_availability"
down_revision = "0018_order_search"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "availability_settings",
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("cancellation_cost", sa.Float(), nullable=False),
        sa.Column("margin_share", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("model IN ('fixed', 'predictive')", name=op.f("ck_availability_settings_model")),
        sa.CheckConstraint("cancellation_cost >= 0", name=op.f("ck_availability_settings_cancellation_cost")),
        sa.CheckConstraint(
            "margin_share IS NULL OR (margin_share > 0 AND margin_share <= 1)",
            name=op.f("ck_availability_settings_margin_share"),
        ),
        sa.ForeignKeyConstraint(
            ["retailer_id"],
            ["organizations.id"],
            name=op.f("fk_availability_settings_retailer_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("retailer_id", name=op.f("pk_availability_settings")),
    )
    op.create_table(
        "depletion_estimates",
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("shape", sa.Float(), nullable=False),
        sa.Column("exposure", sa.Float(), nullable=False),
        sa.Column("recent_sales", sa.Float(), nullable=False),
        sa.Column("recent_minutes", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["vendor_variants.id"],
            name=op.f("fk_depletion_estimates_variant_id_vendor_variants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_depletion_estimates_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("variant_id", name=op.f("pk_depletion_estimates")),
    )
    with op.batch_alter_table("depletion_estimates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_depletion_estimates_vendor_id"), ["vendor_id"], unique=False)
    op.create_table(
        "vendor_depletion",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("prior_rate", sa.Float(), nullable=False),
        sa.Column("import_delay_minutes", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_vendor_depletion_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vendor_id", name=op.f("pk_vendor_depletion")),
    )


def downgrade():
    op.drop_table("vendor_depletion")
    with op.batch_alter_table("depletion_estimates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_depletion_estimates_vendor_id"))
    op.drop_table("depletion_estimates")
    op.drop_table("availability_settings")
