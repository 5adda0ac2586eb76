"""The vendor's dashboard: connections and terms, stock health, purchase orders that need action
with their SLA deadlines, open flags on its lines, recent feed runs. A fixed number of queries whatever the vendor's size:
aggregates, and short lists with limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from network.catalog.models import VendorVariant
from network.feeds import services as feeds
from network.feeds.models import FeedRun
from network.flags.models import Flag
from network.orders.models import PurchaseOrderLine
from network.orders.views import NEEDS_ACTION, InboxRow, inbox_rows, status_counts
from network.partners.models import Connection, Organization
from network.portal_views.stock import shortest_stale_after
from network.stock.models import StockPosition
from network.stock.services import snapshot_as_of

LOW_STOCK_UNITS = 5
RECENT_RUNS = 5
URGENT_POS = 10
RECENT_FLAGS = 10


@dataclass(frozen=True)
class ConnectionView:
    id: int
    retailer_name: str
    status: str
    ack_sla_hours: int
    ship_sla_hours: int
    safety_buffer: int
    stale_after_minutes: int
    routing_priority: int
    created_at: dt.datetime


@dataclass(frozen=True)
class StockHealth:
    variants: int = 0
    at_zero: int = 0  # active variants the vendor counts none of
    low: int = 0  # active variants with 1..LOW_STOCK_UNITS units free to promise
    stale: int = 0  # variants whose count is too old for at least one active connection
    pending_inspection: int = 0  # variants with returned units waiting to be graded
    pending_inspection_units: int = 0
    damaged: int = 0
    damaged_units: int = 0
    stale_after: dt.timedelta | None = None
    low_units: int = LOW_STOCK_UNITS


@dataclass(frozen=True)
class FlagView:
    id: int
    kind: str
    po_id: int
    sku: str
    raised_at: dt.datetime


@dataclass(frozen=True)
class Dashboard:
    connections: list[ConnectionView]
    health: StockHealth
    recent_runs: list[FeedRun]
    # The oldest purchase orders that still need action, and how many there are per status.
    purchase_orders: list[InboxRow]
    po_counts: dict[str, int]
    # Open flags on the vendor's lines (the newest few) and how many are open.
    flags: list[FlagView]
    open_flags: int


def vendor_connections(session: Session, *, vendor_id: int) -> list[ConnectionView]:
    retailer = aliased(Organization)
    rows = session.execute(
        sa.select(Connection, retailer.name)
        .join(retailer, retailer.id == Connection.retailer_id)
        .where(Connection.vendor_id == vendor_id)
        .order_by(retailer.name, Connection.id)
    )
    return [
        ConnectionView(
            id=conn.id,
            retailer_name=name,
            status=conn.status,
            ack_sla_hours=conn.ack_sla_hours,
            ship_sla_hours=conn.ship_sla_hours,
            safety_buffer=conn.safety_buffer,
            stale_after_minutes=conn.stale_after_minutes,
            routing_priority=conn.routing_priority,
            created_at=conn.created_at,
        )
        for conn, name in rows
    ]


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def stock_health(session: Session, *, vendor_id: int, now: dt.datetime) -> StockHealth:
    """Count the vendor's variants that need a look, in one pass over its positions.

    The pass joins nothing: the last full snapshot's time is read first (a position is stale when
    neither its own count nor that snapshot is recent enough), and inactive variants, which are
    few, are left out of the zero and low counts through a hashed NOT IN.
    """
    stale_after = shortest_stale_after(session, vendor_id=vendor_id)
    pos = StockPosition
    if stale_after is None:
        stale = sa.literal(0)  # no active connection: no retailer counts on the figures yet
    else:
        limit = now - stale_after
        snapshot = snapshot_as_of(session, vendor_id)
        recent_snapshot = snapshot is not None and snapshot >= limit
        stale = sa.literal(0) if recent_snapshot else _count(sa.or_(pos.as_of.is_(None), pos.as_of < limit))
    active = pos.variant_id.not_in(
        sa.select(VendorVariant.id).where(
            VendorVariant.vendor_id == vendor_id, VendorVariant.active.is_(False)
        )
    )
    sellable = pos.quantity - pos.committed
    row = session.execute(
        sa.select(
            sa.func.count().label("variants"),
            _count(sa.and_(active, pos.quantity == 0)).label("at_zero"),
            _count(sa.and_(active, sellable > 0, sellable <= LOW_STOCK_UNITS)).label("low"),
            stale.label("stale"),
            _count(pos.pending_inspection > 0).label("pending_inspection"),
            sa.func.coalesce(sa.func.sum(pos.pending_inspection), 0).label("pending_inspection_units"),
            _count(pos.damaged > 0).label("damaged"),
            sa.func.coalesce(sa.func.sum(pos.damaged), 0).label("damaged_units"),
        ).where(pos.vendor_id == vendor_id)
    ).one()
    return StockHealth(**{k: int(v) for k, v in row._mapping.items()}, stale_after=stale_after)


def open_flags(session: Session, *, vendor_id: int, limit: int = RECENT_FLAGS) -> tuple[list[FlagView], int]:
    """The newest open flags on the vendor's purchase-order lines, and how many are open."""
    open_ = sa.and_(Flag.vendor_id == vendor_id, Flag.resolved_at.is_(None))
    rows = session.execute(
        sa.select(Flag.id, Flag.kind, Flag.raised_at, PurchaseOrderLine.po_id, VendorVariant.vendor_sku)
        .join(PurchaseOrderLine, PurchaseOrderLine.id == Flag.po_line_id)
        .join(VendorVariant, VendorVariant.id == PurchaseOrderLine.variant_id)
        .where(open_)
        .order_by(Flag.raised_at.desc(), Flag.id.desc())
        .limit(limit)
    )
    flags = [FlagView(r.id, r.kind, r.po_id, r.vendor_sku, r.raised_at) for r in rows]
    count = (
        session.scalar(sa.select(sa.func.count()).select_from(Flag).where(open_))
        if len(flags) == limit
        else len(flags)
    )
    return flags, count


def vendor_dashboard(session: Session, *, vendor_id: int, now: dt.datetime) -> Dashboard:
    flags, flag_count = open_flags(session, vendor_id=vendor_id)
    return Dashboard(
        connections=vendor_connections(session, vendor_id=vendor_id),
        health=stock_health(session, vendor_id=vendor_id, now=now),
        recent_runs=feeds.list_runs(session, vendor_id=vendor_id, after_id=None, limit=RECENT_RUNS),
        purchase_orders=inbox_rows(
            session, vendor_id=vendor_id, statuses=NEEDS_ACTION, after_id=0, limit=URGENT_POS
        )[0],
        po_counts=status_counts(session, vendor_id=vendor_id),
        flags=flags,
        open_flags=flag_count,
    )
