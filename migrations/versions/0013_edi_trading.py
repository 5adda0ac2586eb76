"""EDI trading: trading partners, every file exchanged, 850s sent, invoices; two flag kinds

Revision ID: 0013_edi_trading
Revises: 0011_vendor_guards
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_edi_trading"
down_revision = "0011_vendor_guards"
branch_labels = None
depends_on = None

_KINDS = (
    "kind IN ('shortfall', 'ack_overdue', 'ship_overdue', 'stale_feed', 'vendor_rejected', 'vendor_cancelled',"
    " 'discontinued'"
)


def upgrade():
    op.create_table(
        "edi_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("interchange_control", sa.String(length=9), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_edi_files_direction")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_edi_files_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edi_files")),
        sa.UniqueConstraint("vendor_id", "direction", "name", "size", "sha256", name="uq_edi_files_seen"),
    )
    with op.batch_alter_table("edi_files", schema=None) as batch_op:
        batch_op.create_index("ix_edi_files_pending", ["direction", "status"], unique=False)
        batch_op.create_index("ix_edi_files_vendor_id_id", ["vendor_id", "id"], unique=False)

    op.create_table(
        "edi_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("isa_qualifier", sa.String(length=2), nullable=False),
        sa.Column("isa_id", sa.String(length=15), nullable=False),
        sa.Column("hub_isa_qualifier", sa.String(length=2), nullable=False),
        sa.Column("hub_isa_id", sa.String(length=15), nullable=False),
        sa.Column("version", sa.String(length=12), nullable=False),
        sa.Column("element_separator", sa.String(length=1), nullable=False),
        sa.Column("component_separator", sa.String(length=1), nullable=False),
        sa.Column("segment_terminator", sa.String(length=1), nullable=False),
        sa.Column("repetition_separator", sa.String(length=1), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("ack_window_minutes", sa.Integer(), nullable=False),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("credentials_sealed", sa.Text(), nullable=False),
        sa.Column("inbound_dir", sa.String(length=500), nullable=False),
        sa.Column("outbound_dir", sa.String(length=500), nullable=False),
        sa.Column("pattern", sa.String(length=100), nullable=False),
        sa.Column("after_pull", sa.String(length=8), nullable=False),
        sa.Column("archive_dir", sa.String(length=500), nullable=False),
        sa.Column("host_key", sa.Text(), nullable=True),
        sa.Column("offered_host_key", sa.Text(), nullable=True),
        sa.Column("interchange_control", sa.Integer(), nullable=False),
        sa.Column("group_control", sa.Integer(), nullable=False),
        sa.Column("set_control", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("poll_minutes", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("after_pull IN ('archive', 'leave')", name=op.f("ck_edi_partners_after_pull")),
        sa.CheckConstraint("port > 0 AND port < 65536", name=op.f("ck_edi_partners_port")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_edi_partners_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edi_partners")),
        sa.UniqueConstraint("vendor_id", name=op.f("uq_edi_partners_vendor_id")),
    )
    op.create_table(
        "edi_purchase_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("po_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("interchange_control", sa.Integer(), nullable=False),
        sa.Column("group_control", sa.Integer(), nullable=False),
        sa.Column("set_control", sa.Integer(), nullable=False),
        sa.Column("transition_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ack_status", sa.String(length=1), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["edi_files.id"],
            name=op.f("fk_edi_purchase_orders_file_id_edi_files"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["po_id"],
            ["purchase_orders.id"],
            name=op.f("fk_edi_purchase_orders_po_id_purchase_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_edi_purchase_orders_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edi_purchase_orders")),
        sa.UniqueConstraint("vendor_id", "group_control", "set_control", name="uq_edi_po_controls"),
    )
    with op.batch_alter_table("edi_purchase_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_edi_purchase_orders_po_id"), ["po_id"], unique=False)
        batch_op.create_index(
            "ix_edi_purchase_orders_waiting", ["acked_at", "flagged_at", "ack_due_at"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("po_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("stated_total", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("mismatches", sa.JSON(), nullable=False),
        sa.Column("edi_file_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["edi_file_id"],
            ["edi_files.id"],
            name=op.f("fk_invoices_edi_file_id_edi_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["po_id"],
            ["purchase_orders.id"],
            name=op.f("fk_invoices_po_id_purchase_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["retailer_id"],
            ["organizations.id"],
            name=op.f("fk_invoices_retailer_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_invoices_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("vendor_id", "number", name="uq_invoices_vendor_number"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_po_id"), ["po_id"], unique=False)
        batch_op.create_index("ix_invoices_retailer_id_id", ["retailer_id", "id"], unique=False)

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("po_line_id", sa.Integer(), nullable=True),
        sa.Column("vendor_sku", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("ordered", sa.Integer(), nullable=True),
        sa.Column("shipped", sa.Integer(), nullable=True),
        sa.Column("unit_cost", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["po_line_id"],
            ["purchase_order_lines.id"],
            name=op.f("fk_invoice_lines_po_line_id_purchase_order_lines"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False)

    _flag_kinds(_KINDS + ", 'invoice_mismatch', 'edi_unacknowledged')")


def _flag_kinds(check: str) -> None:
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_flags_kind"), type_="check")
        batch_op.create_check_constraint("kind", check)


def downgrade():
    op.execute("DELETE FROM flags WHERE kind IN ('invoice_mismatch', 'edi_unacknowledged')")
    _flag_kinds(_KINDS + ")")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_retailer_id_id")
        batch_op.drop_index(batch_op.f("ix_invoices_po_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("edi_purchase_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_edi_purchase_orders_waiting")
        batch_op.drop_index(batch_op.f("ix_edi_purchase_orders_po_id"))

    op.drop_table("edi_purchase_orders")
    op.drop_table("edi_partners")
    with op.batch_alter_table("edi_files", schema=None) as batch_op:
        batch_op.drop_index("ix_edi_files_vendor_id_id")
        batch_op.drop_index("ix_edi_files_pending")

    op.drop_table("edi_files")
