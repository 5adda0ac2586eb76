"""Orders, purchase orders with per-line counters, shipments, the transition history, and returns."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.catalog.models import VendorVariant
from network.db import Base

if TYPE_CHECKING:
    from network.flags.models import Flag

# Purchase-order line (and purchase-order) states, DESIGN §7.
OPEN = "open"
ACKNOWLEDGED = "acknowledged"
PARTIALLY_SHIPPED = "partially_shipped"
SHIPPED = "shipped"
CANCELLED = "cancelled"
REJECTED = "rejected"
LINE_STATES = (OPEN, ACKNOWLEDGED, PARTIALLY_SHIPPED, SHIPPED, CANCELLED, REJECTED)

# Order states.
ACCEPTED = "accepted"
PARTIALLY_ACCEPTED = "partially_accepted"

# Return states.
RETURN_OPEN = "open"  # expected, nothing received yet
RETURN_RECEIVED = "received"  # some units received, grading or more units pending
RETURN_CLOSED = "closed"  # every unit received and graded

_BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(24))
    ship_to: Mapped[dict] = mapped_column(sa.JSON)
    allow_partial: Mapped[bool] = mapped_column(default=False)
    allow_split: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.line_no", cascade="all, delete-orphan"
    )
    purchase_orders: Mapped[list[PurchaseOrder]] = relationship(
        back_populates="order", order_by="PurchaseOrder.id", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.Index("ix_orders_retailer_id_id", "retailer_id", "id"),)


# The console's order search by a reference prefix in any case: lower(reference) LIKE 'abc%'
# (network/console_views/orders.py; 21 ms -> 4 ms at 50,000 orders, docs/benchmarks.md).
# PostgreSQL's only: text_pattern_ops lets LIKE use it whatever the collation; SQLite's LIKE
# would not use an index.
sa.Index(
    "ix_orders_retailer_id_reference_prefix",
    Order.retailer_id,
    sa.func.lower(Order.reference).label("reference_lower"),
    postgresql_ops={"reference_lower": "text_pattern_ops"},
).ddl_if(dialect="postgresql")


class OrderLine(Base):
    """What the retailer asked for, and how many units the hub accepted (reserved) for it."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int]
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("retailer_items.id", ondelete="SET NULL"))
    retailer_sku: Mapped[str] = mapped_column(sa.String(100))
    requested: Mapped[int]
    accepted: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")
    po_lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order_line", order_by="PurchaseOrderLine.id"
    )
    # Read-only view of the flags area's rows (network/flags), so an order shows its at-risk lines.
    open_flags: Mapped[list[Flag]] = relationship(
        "Flag",
        primaryjoin="and_(Flag.order_line_id == OrderLine.id, Flag.resolved_at.is_(None))",
        order_by="Flag.id",
        viewonly=True,
    )

    __table_args__ = (
        sa.CheckConstraint("requested > 0 AND accepted >= 0 AND accepted <= requested", name="quantities"),
    )


class PurchaseOrder(Base):
    """The part of an order routed to one vendor."""

    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(24), default=OPEN)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    order: Mapped[Order] = relationship(back_populates="purchase_orders")
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="purchase_order", order_by="PurchaseOrderLine.id", cascade="all, delete-orphan"
    )
    shipments: Mapped[list[Shipment]] = relationship(
        back_populates="purchase_order", order_by="Shipment.id", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.Index("ix_purchase_orders_vendor_id_status", "vendor_id", "status", "id"),)


class PurchaseOrderLine(Base):
    """Units of one vendor variant, with counters: live = ordered - cancelled - rejected."""

    __tablename__ = "purchase_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    po_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(
        sa.ForeignKey("order_lines.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor_variants.id", ondelete="RESTRICT"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    unit_cost: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(12, 4))
    ordered: Mapped[int]
    cancelled: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    shipped: Mapped[int] = mapped_column(default=0)
    returned: Mapped[int] = mapped_column(default=0)
    acknowledged_at: Mapped[dt.datetime | None]
    last_shipped_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(sa.String(24), default=OPEN)
    # True once every live unit is shipped and a snapshot reflects it: such a line can never
    # count in `committed` again, so the in-flight rule stops looking at it.
    settled: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime]

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship(back_populates="po_lines")
    variant: Mapped[VendorVariant] = relationship()

    __table_args__ = (
        sa.Index("ix_purchase_order_lines_vendor_id_settled", "vendor_id", "settled"),
        sa.Index("ix_purchase_order_lines_variant_id", "variant_id"),
        sa.CheckConstraint(
            "ordered > 0 AND cancelled >= 0 AND rejected >= 0 AND shipped >= 0 AND returned >= 0"
            " AND cancelled + rejected + shipped <= ordered AND returned <= shipped",
            name="counters",
        ),
    )

    @property
    def live(self) -> int:
        return self.ordered - self.cancelled - self.rejected

    @property
    def unshipped(self) -> int:
        return self.live - self.shipped


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    po_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(sa.String(100))
    tracking_number: Mapped[str] = mapped_column(sa.String(200))
    shipped_at: Mapped[dt.datetime]

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="shipments")
    lines: Mapped[list[ShipmentLine]] = relationship(
        back_populates="shipment", order_by="ShipmentLine.id", cascade="all, delete-orphan"
    )


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    po_line_id: Mapped[int] = mapped_column(
        sa.ForeignKey("purchase_order_lines.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int]

    shipment: Mapped[Shipment] = relationship(back_populates="lines")

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity"),)


class PurchaseOrderTransition(Base):
    """Append-only history: who moved which units of a line from one state to another, and why."""

    __tablename__ = "po_transitions"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True)
    po_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    po_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("purchase_order_lines.id", ondelete="CASCADE")
    )
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(sa.String(16))  # org | user | system
    actor_org_id: Mapped[int | None]
    actor_user_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(sa.String(24))
    from_state: Mapped[str] = mapped_column(sa.String(24))
    to_state: Mapped[str] = mapped_column(sa.String(24))
    quantity: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(500), default="")


class Return(Base):
    """Shipped units of one purchase order coming back to its vendor."""

    __tablename__ = "returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    po_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(16), default=RETURN_OPEN)
    reason: Mapped[str] = mapped_column(sa.String(500))
    quantity: Mapped[int]
    received: Mapped[int] = mapped_column(default=0)
    resellable: Mapped[int] = mapped_column(default=0)
    damaged: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="ret", order_by="ReturnLine.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.Index("ix_returns_vendor_id_status", "vendor_id", "status", "id"),
        sa.CheckConstraint(
            "received <= quantity AND resellable >= 0 AND damaged >= 0 AND resellable + damaged <= received",
            name="counts",
        ),
    )


class ReturnLine(Base):
    __tablename__ = "return_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    po_line_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_order_lines.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor_variants.id", ondelete="RESTRICT"))
    quantity: Mapped[int]
    received: Mapped[int] = mapped_column(default=0)
    resellable: Mapped[int] = mapped_column(default=0)
    damaged: Mapped[int] = mapped_column(default=0)

    ret: Mapped[Return] = relationship(back_populates="lines")

    __table_args__ = (
        sa.CheckConstraint(
            "quantity > 0 AND received <= quantity AND resellable >= 0 AND damaged >= 0"
            " AND resellable + damaged <= received",
            name="counts",
        ),
    )
