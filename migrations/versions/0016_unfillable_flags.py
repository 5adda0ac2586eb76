"""flags: the `unfillable` kind, hung on an order line with no purchase-order line or vendor yet

Revision ID: 0016_unfillable_flags
Revises: 0015_item_gtin
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_unfillable_flags"
down_revision = "0015_item_gtin"
branch_labels = None
depends_on = None

_KINDS = (
    "kind IN ('shortfall', 'ack_overdue', 'ship_overdue', 'stale_feed', 'vendor_rejected', 'vendor_cancelled',"
    " 'discontinued', 'invoice_mismatch', 'edi_unacknowledged'"
)


def upgrade():
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_flags_kind"), type_="check")
        batch_op.create_check_constraint("kind", _KINDS + ", 'unfillable')")
        batch_op.alter_column("vendor_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("po_line_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            "po_line", "kind = 'unfillable' OR (po_line_id IS NOT NULL AND vendor_id IS NOT NULL)"
        )
        batch_op.create_index("ix_flags_order_line_id_kind", ["order_line_id", "kind"], unique=False)


def downgrade():
    op.execute("DELETE FROM flags WHERE kind = 'unfillable'")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index("ix_flags_order_line_id_kind")
        batch_op.drop_constraint(op.f("ck_flags_po_line"), type_="check")
        batch_op.alter_column("po_line_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("vendor_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(op.f("ck_flags_kind"), type_="check")
        batch_op.create_check_constraint("kind", _KINDS + ")")
