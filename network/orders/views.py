"""The vendor portal's read models of orders: the purchase-order inbox, order pages, packing slips
and returns, read in bounded queries (the APIs' reads of single orders are in `queries`).

SLA deadlines follow the connection's terms from the moment the purchase order was created:
acknowledge within `ack_sla_hours`, ship within `ship_sla_hours` (DESIGN §2, §9).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from network.catalog.models import VendorVariant
from network.orders.deadlines import LineClock, ack_due_at, ship_due_at
from network.orders.models import (
    ACKNOWLEDGED,
    CANCELLED,
    OPEN,
    PARTIALLY_SHIPPED,
    REJECTED,
    SHIPPED,
    Order,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderTransition,
    Return,
)
from network.orders.queries import get_purchase_order
from network.orders.returns import get_return, list_returns
from network.partners.models import Connection, Organization

PAGE_SIZE = 50
# Purchase orders that still need the vendor to do something.
NEEDS_ACTION = (OPEN, ACKNOWLEDGED, PARTIALLY_SHIPPED)
FILTERS = ("action", OPEN, ACKNOWLEDGED, PARTIALLY_SHIPPED, SHIPPED, CANCELLED, REJECTED, "all")


@dataclass(frozen=True)
class Deadlines:
    ack_due: dt.datetime | None  # while some line waits for an acknowledgement
    ship_due: dt.datetime | None  # while some live unit is unshipped


def sla_deadlines(
    *,
    created_at: dt.datetime,
    ack_sla_hours: int | None,
    ship_sla_hours: int | None,
    open_lines: int,
    unshipped_units: int,
) -> Deadlines:
    """When the vendor must have acknowledged and shipped a purchase order (None: nothing due).

    The deadlines are the ones the flag rules use (network.orders.deadlines), so the countdown
    reaches zero when the hub raises ack_overdue or ship_overdue.
    """
    if ack_sla_hours is None or ship_sla_hours is None:
        return Deadlines(ack_due=None, ship_due=None)  # no connection (any more): no terms to keep
    clock = LineClock(
        placed_at=created_at,
        acknowledged=not open_lines,
        ack_sla=dt.timedelta(hours=ack_sla_hours),
        ship_sla=dt.timedelta(hours=ship_sla_hours),
        as_of=None,
        stale_after=dt.timedelta(0),
    )
    return Deadlines(
        ack_due=ack_due_at(clock) if open_lines else None,
        ship_due=ship_due_at(clock) if unshipped_units else None,
    )


@dataclass(frozen=True)
class InboxRow:
    id: int
    status: str
    created_at: dt.datetime
    reference: str
    retailer_name: str
    lines: int
    units: int
    unshipped_units: int
    open_lines: int
    deadlines: Deadlines


@dataclass(frozen=True)
class Inbox:
    rows: list[InboxRow]
    next_after: int | None
    counts: dict[str, int]  # purchase orders per status, plus "action" and "all"


def _statuses(state: str) -> Sequence[str] | None:
    if state == "action":
        return NEEDS_ACTION
    if state == "all":
        return None
    return (state,)


def inbox(
    session: Session, *, vendor_id: int, state: str = "action", after_id: int = 0, limit: int = PAGE_SIZE
) -> Inbox:
    """Return one page of the vendor's purchase orders in a state, oldest first, with line totals."""
    if state not in FILTERS:
        state = "action"
    rows, more = inbox_rows(
        session, vendor_id=vendor_id, statuses=_statuses(state), after_id=after_id, limit=limit
    )
    return Inbox(
        rows=rows,
        next_after=rows[-1].id if more else None,
        counts=status_counts(session, vendor_id=vendor_id),
    )


def status_counts(session: Session, *, vendor_id: int) -> dict[str, int]:
    counts = dict(
        session.execute(
            sa.select(PurchaseOrder.status, sa.func.count())
            .where(PurchaseOrder.vendor_id == vendor_id)
            .group_by(PurchaseOrder.status)
        ).all()
    )
    counts["action"] = sum(counts.get(s, 0) for s in NEEDS_ACTION)
    counts["all"] = sum(v for k, v in counts.items() if k != "action")
    return counts


def inbox_rows(
    session: Session, *, vendor_id: int, statuses: Sequence[str] | None, after_id: int, limit: int
) -> tuple[list[InboxRow], bool]:
    """Return up to `limit` purchase orders after an id, and whether more follow. Two queries."""
    retailer = aliased(Organization)
    query = (
        sa.select(
            PurchaseOrder.id,
            PurchaseOrder.status,
            PurchaseOrder.created_at,
            Order.reference,
            retailer.name.label("retailer_name"),
            Connection.ack_sla_hours,
            Connection.ship_sla_hours,
        )
        .join(Order, Order.id == PurchaseOrder.order_id)
        .join(retailer, retailer.id == PurchaseOrder.retailer_id)
        .outerjoin(
            Connection,
            sa.and_(Connection.retailer_id == PurchaseOrder.retailer_id, Connection.vendor_id == vendor_id),
        )
        .where(PurchaseOrder.vendor_id == vendor_id, PurchaseOrder.id > after_id)
        .order_by(PurchaseOrder.id)
        .limit(limit + 1)
    )
    if statuses is not None:
        query = query.where(PurchaseOrder.status.in_(list(statuses)))
    heads = session.execute(query).all()
    more = len(heads) > limit
    heads = heads[:limit]
    totals = _line_totals(session, [h.id for h in heads])
    rows = []
    for head in heads:
        lines, units, unshipped, open_lines = totals.get(head.id, (0, 0, 0, 0))
        rows.append(
            InboxRow(
                id=head.id,
                status=head.status,
                created_at=head.created_at,
                reference=head.reference,
                retailer_name=head.retailer_name,
                lines=lines,
                units=units,
                unshipped_units=unshipped,
                open_lines=open_lines,
                deadlines=sla_deadlines(
                    created_at=head.created_at,
                    ack_sla_hours=head.ack_sla_hours,
                    ship_sla_hours=head.ship_sla_hours,
                    open_lines=open_lines,
                    unshipped_units=unshipped,
                ),
            )
        )
    return rows, more


def _line_totals(session: Session, po_ids: Sequence[int]) -> dict[int, tuple[int, int, int, int]]:
    if not po_ids:
        return {}
    line = PurchaseOrderLine
    live = line.ordered - line.cancelled - line.rejected
    rows = session.execute(
        sa.select(
            line.po_id,
            sa.func.count(),
            sa.func.sum(live),
            sa.func.sum(live - line.shipped),
            sa.func.sum(sa.case((line.status == OPEN, 1), else_=0)),
        )
        .where(line.po_id.in_(list(po_ids)))
        .group_by(line.po_id)
    )
    return {r[0]: (int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in rows}


# --- one purchase order ------------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseOrderPage:
    po: PurchaseOrder
    retailer_name: str
    deadlines: Deadlines
    history: list[PurchaseOrderTransition]


def purchase_order_page(session: Session, po_id: int, *, vendor_id: int) -> PurchaseOrderPage:
    """A purchase order with lines, variants, shipments, order, terms and history. Raises NotFound."""
    po = get_purchase_order(session, po_id, vendor_id=vendor_id)
    retailer_name, ack_hours, ship_hours = session.execute(
        sa.select(Organization.name, Connection.ack_sla_hours, Connection.ship_sla_hours)
        .select_from(Organization)
        .outerjoin(
            Connection, sa.and_(Connection.retailer_id == Organization.id, Connection.vendor_id == vendor_id)
        )
        .where(Organization.id == po.retailer_id)
    ).one()
    history = list(
        session.scalars(
            sa.select(PurchaseOrderTransition)
            .where(PurchaseOrderTransition.po_id == po.id)
            .order_by(PurchaseOrderTransition.id)
        )
    )
    return PurchaseOrderPage(
        po=po,
        retailer_name=retailer_name,
        deadlines=sla_deadlines(
            created_at=po.created_at,
            ack_sla_hours=ack_hours,
            ship_sla_hours=ship_hours,
            open_lines=sum(1 for line in po.lines if line.status == OPEN),
            unshipped_units=sum(line.unshipped for line in po.lines if line.live > 0),
        ),
        history=history,
    )


# --- returns -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnRow:
    ret: Return
    retailer_name: str
    reference: str
    # (vendor sku, title, quantity) per line
    items: list[tuple[str, str, int]]

    @property
    def ungraded(self) -> int:
        return self.ret.received - self.ret.resellable - self.ret.damaged


def returns_page(
    session: Session, *, vendor_id: int, status: str | None, after_id: int = 0, limit: int = PAGE_SIZE
) -> tuple[list[ReturnRow], int | None]:
    """A page of the vendor's returns with what is in them; the id to continue after, or None."""
    returns = list_returns(session, vendor_id=vendor_id, status=status, after_id=after_id, limit=limit + 1)
    more = len(returns) > limit
    returns = returns[:limit]
    return _return_rows(session, returns), (returns[-1].id if more else None)


def return_row(session: Session, return_id: int, *, vendor_id: int) -> ReturnRow:
    """Raises NotFound."""
    return _return_rows(session, [get_return(session, return_id, vendor_id=vendor_id)])[0]


def _return_rows(session: Session, returns: list[Return]) -> list[ReturnRow]:
    if not returns:
        return []
    variant_ids = {line.variant_id for ret in returns for line in ret.lines}
    variants = {
        row.id: (row.vendor_sku, row.title)
        for row in session.execute(
            sa.select(VendorVariant.id, VendorVariant.vendor_sku, VendorVariant.title).where(
                VendorVariant.id.in_(variant_ids)
            )
        )
    }
    heads = {
        row.id: (row.name, row.reference)
        for row in session.execute(
            sa.select(Return.id, Organization.name, Order.reference)
            .join(Organization, Organization.id == Return.retailer_id)
            .join(Order, Order.id == Return.order_id)
            .where(Return.id.in_([ret.id for ret in returns]))
        )
    }
    rows = []
    for ret in returns:
        items = [(*variants[line.variant_id], line.quantity) for line in ret.lines]
        rows.append(
            ReturnRow(ret=ret, retailer_name=heads[ret.id][0], reference=heads[ret.id][1], items=items)
        )
    return rows
