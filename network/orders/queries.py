"""Reads of orders and purchase orders, each limited to the organization that may see them.

The vendor portal's pages (inbox, packing slips, returns) read through `views`.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.errors import NotFound
from network.orders.models import Order, OrderLine, PurchaseOrder, PurchaseOrderLine, Shipment


@functools.cache
def _order_load() -> tuple:
    # Built on first use, not at import: OrderLine.open_flags maps network.flags.models.Flag,
    # which an import of this module alone does not load (orders never import flags).
    return (
        selectinload(Order.lines).selectinload(OrderLine.po_lines),
        selectinload(Order.lines).selectinload(OrderLine.open_flags),
        selectinload(Order.purchase_orders).selectinload(PurchaseOrder.lines),
    )


def get_order(session: Session, order_id: int, *, retailer_id: int) -> Order:
    """Raises NotFound (also for another retailer's order)."""
    order = session.scalar(
        sa.select(Order)
        .where(Order.id == order_id)
        .options(*_order_load())
        .execution_options(populate_existing=True)  # a read answers what is stored now
    )
    if order is None or order.retailer_id != retailer_id:
        raise NotFound(f"order {order_id} not found")
    return order


def list_orders(session: Session, *, retailer_id: int, after_id: int, limit: int) -> list[Order]:
    return list(
        session.scalars(
            sa.select(Order)
            .where(Order.retailer_id == retailer_id, Order.id > after_id)
            .order_by(Order.id)
            .limit(limit)
            .options(*_order_load())
        )
    )


@functools.cache
def _po_load() -> tuple:
    return (
        selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.variant),
        selectinload(PurchaseOrder.shipments).selectinload(Shipment.lines),
        selectinload(PurchaseOrder.order),
    )


def get_purchase_order(session: Session, po_id: int, *, vendor_id: int) -> PurchaseOrder:
    """Raises NotFound (also for another vendor's purchase order)."""
    po = session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.id == po_id).options(*_po_load()))
    if po is None or po.vendor_id != vendor_id:
        raise NotFound(f"purchase order {po_id} not found")
    return po


def list_purchase_orders(
    session: Session, *, vendor_id: int, status: str | None, after_id: int, limit: int
) -> list[PurchaseOrder]:
    query = sa.select(PurchaseOrder).where(PurchaseOrder.vendor_id == vendor_id, PurchaseOrder.id > after_id)
    if status:
        query = query.where(PurchaseOrder.status == status)
    return list(session.scalars(query.order_by(PurchaseOrder.id).limit(limit).options(*_po_load())))
