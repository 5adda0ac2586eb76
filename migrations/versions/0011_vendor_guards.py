"""vendor_guards: each vendor's limits for the guards against slips (quantity jumps, price moves)

Revision ID: 0011_vendor_guards
Revises: 0011_catalog_imports
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_vendor_guards"
down_revision = "0011_catalog_imports"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "vendor_guards",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("quantity_factor", sa.Integer(), nullable=False),
        sa.Column("quantity_floor", sa.Integer(), nullable=False),
        sa.Column("price_share", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "quantity_factor >= 2 AND quantity_floor >= 0 AND price_share > 0",
            name=op.f("ck_vendor_guards_limits"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_vendor_guards_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vendor_id", name=op.f("pk_vendor_guards")),
    )


def downgrade():
    op.drop_table("vendor_guards")
