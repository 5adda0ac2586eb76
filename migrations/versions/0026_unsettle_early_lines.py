"""Un-settle purchase-order lines that the old settle rule settled too early.

Before commit 4d9d715, `settle_if_reflected` settled a fully shipped line once the current
snapshot reflected it under that snapshot's basis: on basis `available`, a line acknowledged
before the count but shipped after it. A later `on_hand` count dated before the shipment still
counts such a line, so it must stay in the in-flight rule (rules.reflected_for_good: every unit
shipped at or before the position's effective as-of).

Conservative on purpose: an un-settled line only costs a recompute (the next change to its
position recomputes `committed` and settles it again if it is reflected for good), while a line
wrongly left settled gives wrong books. So every settled line with live units is un-settled
unless its position's effective as-of (rules.effective_as_of: the later of the position's own
as-of and the vendor's last full snapshot) is known and not before any of its shipments.
Nothing is recomputed here.

Revision ID: 0026_unsettle_early_lines
Revises: 0025_outbox_sequence
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_unsettle_early_lines"
down_revision = "0025_outbox_sequence"
branch_labels = None
depends_on = None

lines = sa.table(
    "purchase_order_lines",
    sa.column("id", sa.Integer),
    sa.column("variant_id", sa.Integer),
    sa.column("ordered", sa.Integer),
    sa.column("cancelled", sa.Integer),
    sa.column("rejected", sa.Integer),
    sa.column("last_shipped_at", sa.DateTime(timezone=True)),
    sa.column("settled", sa.Boolean),
)
positions = sa.table(
    "stock_positions",
    sa.column("variant_id", sa.Integer),
    sa.column("vendor_id", sa.Integer),
    sa.column("as_of", sa.DateTime(timezone=True)),
)
snapshots = sa.table(
    "stock_snapshots", sa.column("vendor_id", sa.Integer), sa.column("as_of", sa.DateTime(timezone=True))
)
shipments = sa.table(
    "shipments", sa.column("id", sa.Integer), sa.column("shipped_at", sa.DateTime(timezone=True))
)
shipment_lines = sa.table(
    "shipment_lines",
    sa.column("shipment_id", sa.Integer),
    sa.column("po_line_id", sa.Integer),
)


def upgrade():
    # effective_as_of, in SQL both backends speak (SQLite has no greatest()).
    effective = sa.case(
        (sa.or_(snapshots.c.as_of.is_(None), positions.c.as_of > snapshots.c.as_of), positions.c.as_of),
        else_=snapshots.c.as_of,
    )
    shipped_later = (
        sa.select(sa.literal(1))
        .select_from(shipment_lines.join(shipments, shipments.c.id == shipment_lines.c.shipment_id))
        .where(shipment_lines.c.po_line_id == lines.c.id, shipments.c.shipped_at > effective)
        .correlate_except(shipment_lines, shipments)
    )
    reflected_for_good = (
        sa.select(sa.literal(1))
        .select_from(positions.outerjoin(snapshots, snapshots.c.vendor_id == positions.c.vendor_id))
        .where(
            positions.c.variant_id == lines.c.variant_id,
            lines.c.last_shipped_at.is_not(None),
            effective.is_not(None),
            lines.c.last_shipped_at <= effective,
            ~shipped_later.exists(),
        )
        .correlate(lines)
    )
    op.execute(
        lines.update()
        .where(
            lines.c.settled.is_(sa.true()),
            lines.c.ordered - lines.c.cancelled - lines.c.rejected > 0,
            ~reflected_for_good.exists(),
        )
        .values(settled=sa.false())
    )


def downgrade():
    # Nothing to undo: an un-settled line is settled again by the next recompute if it may be.
    pass
