"""catalog_imports (catalog files and their held rows); flags of kind `discontinued`

Revision ID: 0011_catalog_imports
Revises: 0011_variant_content
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_catalog_imports"
down_revision = "0011_variant_content"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('shortfall', 'ack_overdue', 'ship_overdue', 'stale_feed', 'vendor_rejected', 'vendor_cancelled')"
NEW_KINDS = (
    "kind IN ('shortfall', 'ack_overdue', 'ship_overdue', 'stale_feed', 'vendor_rejected',"
    " 'vendor_cancelled', 'discontinued')"
)


def upgrade():
    op.create_table(
        "catalog_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("rows_seen", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("held", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_catalog_imports_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_catalog_imports_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_imports")),
    )
    op.create_index("ix_catalog_imports_vendor_id_id", "catalog_imports", ["vendor_id", "id"], unique=False)
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_flags_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_flags_kind"), sa.text(NEW_KINDS))


def downgrade():
    op.execute("DELETE FROM flags WHERE kind = 'discontinued'")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_flags_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_flags_kind"), sa.text(OLD_KINDS))
    op.drop_index("ix_catalog_imports_vendor_id_id", table_name="catalog_imports")
    op.drop_table("catalog_imports")
