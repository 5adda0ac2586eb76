"""The console's Orders pages: the search (by reference, status and date, newest first) and one
order with everything that happened to it, each read in a fixed number of queries.

The search is keyset-paginated on the order id (newest first): a page costs the same three
queries (orders, line totals, purchase orders) at any depth and any number of orders.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.catalog.models import VendorVariant
from network.flags.models import Flag
from network.orders.by_hand import open_po_lines, reroute_options
from network.orders.lifecycle import po_state
from network.orders.models import (
    ACKNOWLEDGED,
    CANCELLED,
    LINE_STATES,
    OPEN,
    PARTIALLY_ACCEPTED,
    PARTIALLY_SHIPPED,
    REJECTED,
    SHIPPED,
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderTransition,
    Return,
    Shipment,
)
from network.orders.queries import get_order
from network.orders.tracking import tracking_url
from network.partners.models import Organization

PAGE_SIZE = 50
# The search's status filter: an order "is" a state when one of its purchase orders is in it
# (an order with two vendors can be shipped by one and open at the other), or the hub could
# place only part of it.
STATUS_FILTERS = {
    OPEN: "Waiting for a vendor to acknowledge",
    ACKNOWLEDGED: "Acknowledged, not shipped",
    PARTIALLY_SHIPPED: "Partly shipped",
    SHIPPED: "Shipped",
    CANCELLED: "Cancelled",
    REJECTED: "Rejected by a vendor",
    PARTIALLY_ACCEPTED: "Only partly placed",
}


@dataclass(frozen=True)
class Search:
    reference: str = ""  # a prefix of the retailer's reference, in any case
    status: str = ""  # a key of STATUS_FILTERS, or "" for any
    created_from: dt.date | None = None
    created_to: dt.date | None = None  # inclusive


@dataclass(frozen=True)
class OrderRow:
    id: int
    reference: str
    created_at: dt.datetime
    state: str  # the purchase orders' state as one (lifecycle.po_state), "" without any
    partially_accepted: bool
    lines: int
    requested: int
    accepted: int
    vendors: list[str]


@dataclass(frozen=True)
class OrderSearchPage:
    rows: list[OrderRow]
    next_before: int | None  # the id to continue before, or None on the last page


def search_orders(
    session: Session,
    *,
    retailer_id: int,
    search: Search,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> OrderSearchPage:
    """One page of the retailer's orders matching the search, newest first. Three queries."""
    query = sa.select(Order.id, Order.reference, Order.status, Order.created_at).where(
        Order.retailer_id == retailer_id
    )
    if search.reference:
        # Case does not matter to a person typing a reference (and SQLite's LIKE ignores it anyway).
        query = query.where(
            sa.func.lower(Order.reference).startswith(search.reference.lower(), autoescape=True)
        )
    if search.status == PARTIALLY_ACCEPTED:
        query = query.where(Order.status == PARTIALLY_ACCEPTED)
    elif search.status in LINE_STATES:
        query = query.where(
            sa.exists().where(PurchaseOrder.order_id == Order.id, PurchaseOrder.status == search.status)
        )
    if search.created_from is not None:
        query = query.where(Order.created_at >= _midnight(search.created_from))
    if search.created_to is not None:
        query = query.where(Order.created_at < _midnight(search.created_to + dt.timedelta(days=1)))
    if before_id is not None:
        query = query.where(Order.id < before_id)
    heads = session.execute(query.order_by(Order.id.desc()).limit(limit + 1)).all()
    more = len(heads) > limit
    heads = heads[:limit]
    ids = [head.id for head in heads]
    totals = _line_totals(session, ids)
    pos = _purchase_orders(session, ids)
    rows = []
    for head in heads:
        lines, requested, accepted = totals.get(head.id, (0, 0, 0))
        states = [status for status, _ in pos.get(head.id, [])]
        rows.append(
            OrderRow(
                id=head.id,
                reference=head.reference,
                created_at=head.created_at,
                state=po_state(states) if states else "",
                partially_accepted=head.status == PARTIALLY_ACCEPTED,
                lines=lines,
                requested=requested,
                accepted=accepted,
                vendors=sorted({vendor for _, vendor in pos.get(head.id, [])}),
            )
        )
    return OrderSearchPage(rows=rows, next_before=rows[-1].id if more else None)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _line_totals(session: Session, order_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    if not order_ids:
        return {}
    rows = session.execute(
        sa.select(
            OrderLine.order_id,
            sa.func.count(),
            sa.func.sum(OrderLine.requested),
            sa.func.sum(OrderLine.accepted),
        )
        .where(OrderLine.order_id.in_(order_ids))
        .group_by(OrderLine.order_id)
    )
    return {row[0]: (int(row[1]), int(row[2] or 0), int(row[3] or 0)) for row in rows}


def _purchase_orders(session: Session, order_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(status, vendor name) of each order's purchase orders."""
    if not order_ids:
        return {}
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for order_id, status, vendor in session.execute(
        sa.select(PurchaseOrder.order_id, PurchaseOrder.status, Organization.name)
        .join(Organization, Organization.id == PurchaseOrder.vendor_id)
        .where(PurchaseOrder.order_id.in_(order_ids))
        .order_by(PurchaseOrder.id)
    ):
        found[order_id].append((status, vendor))
    return found


# --- one order ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentView:
    shipment: Shipment
    vendor: str
    units: int
    tracking_url: str | None


@dataclass(frozen=True)
class RerouteOption:
    variant_id: int
    vendor: str
    vendor_sku: str
    available: int


@dataclass(frozen=True)
class OrderPage:
    order: Order
    vendors: dict[int, str]  # vendor id -> name
    variants: dict[int, tuple[str, str]]  # variant id -> (vendor sku, title)
    history: dict[int, list[PurchaseOrderTransition]]  # purchase order id -> transitions, oldest first
    shipments: list[ShipmentView]
    flags: list[Flag]  # open and resolved, oldest first
    returns: list[Return]
    reroute: dict[int, list[RerouteOption]]  # order line id -> where its open units could go
    movable: dict[int, int]  # order line id -> its units a reroute would move

    def open_units(self, line: OrderLine) -> int:
        return sum(po_line.unshipped for po_line in line.po_lines if po_line.live > 0)

    def returnable(self, line: OrderLine) -> int:
        return sum(po_line.shipped - po_line.returned for po_line in line.po_lines)


def order_page(session: Session, order_id: int, *, retailer_id: int, now: dt.datetime) -> OrderPage:
    """An order with its lines, purchase orders and their history, shipments, flags, returns and
    where each open line could be rerouted; a fixed number of queries. Raises NotFound."""
    order = get_order(session, order_id, retailer_id=retailer_id)
    po_ids = [po.id for po in order.purchase_orders]
    options = reroute_options(session, retailer_id=retailer_id, order_lines=order.lines, now=now)
    variant_ids = {pl.variant_id for line in order.lines for pl in line.po_lines} | {
        source.variant_id for sources in options.values() for source in sources
    }
    variants = {
        row.id: (row.vendor_sku, row.title, row.vendor_id, row.vendor)
        for row in session.execute(
            sa.select(
                VendorVariant.id, VendorVariant.vendor_sku, VendorVariant.title, VendorVariant.vendor_id
            )
            .add_columns(Organization.name.label("vendor"))
            .join(Organization, Organization.id == VendorVariant.vendor_id)
            .where(VendorVariant.id.in_(variant_ids or [0]))
        )
    }
    vendors = {vendor_id: name for _, _, vendor_id, name in variants.values()}
    vendor_ids = {po.vendor_id for po in order.purchase_orders} - set(vendors)
    if vendor_ids:  # a variant deleted since: its purchase orders still name their vendor
        vendors.update(
            session.execute(
                sa.select(Organization.id, Organization.name).where(Organization.id.in_(vendor_ids))
            )
            .tuples()
            .all()
        )
    history: dict[int, list[PurchaseOrderTransition]] = defaultdict(list)
    for transition in session.scalars(
        sa.select(PurchaseOrderTransition)
        .where(PurchaseOrderTransition.po_id.in_(po_ids or [0]))
        .order_by(PurchaseOrderTransition.id)
    ):
        history[transition.po_id].append(transition)
    vendor_of_po = {po.id: po.vendor_id for po in order.purchase_orders}
    shipments = [
        ShipmentView(
            shipment=shipment,
            vendor=vendors.get(vendor_of_po[shipment.po_id], ""),
            units=sum(line.quantity for line in shipment.lines),
            tracking_url=tracking_url(shipment.carrier, shipment.tracking_number),
        )
        for shipment in session.scalars(
            sa.select(Shipment)
            .where(Shipment.po_id.in_(po_ids or [0]))
            .order_by(Shipment.shipped_at, Shipment.id)
            .options(selectinload(Shipment.lines))
        )
    ]
    flags = list(session.scalars(sa.select(Flag).where(Flag.order_id == order.id).order_by(Flag.id)))
    returns = list(
        session.scalars(
            sa.select(Return)
            .where(Return.order_id == order.id, Return.retailer_id == retailer_id)
            .order_by(Return.id)
            .options(selectinload(Return.lines))
        )
    )
    return OrderPage(
        order=order,
        vendors=vendors,
        variants={vid: (sku, title) for vid, (sku, title, _, _) in variants.items()},
        history=dict(history),
        shipments=shipments,
        flags=flags,
        returns=returns,
        reroute={
            line_id: [
                RerouteOption(s.variant_id, variants[s.variant_id][3], variants[s.variant_id][0], s.available)
                for s in sources
            ]
            for line_id, sources in options.items()
        },
        movable={line.id: sum(pl.live for pl in open_po_lines(line)) for line in order.lines},
    )
