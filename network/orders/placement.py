"""Order intake: route each line, reserve units atomically, create the purchase orders (DESIGN §7)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from network.availability.services import held_variants, items_sourcing, publish_changes
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.catalog.skus import normal_sku
from network.errors import InvalidInput, OutOfStock
from network.orders import reserving, risk
from network.orders.changes import accepted
from network.orders.models import (
    ACCEPTED,
    OPEN,
    PARTIALLY_ACCEPTED,
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderLine,
)
from network.orders.routing import Allocation, LineRequest, allocate_order
from network.outbox.events import OrderAccepted, PurchaseOrderCreated
from network.outbox.services import record_many
from network.partners.models import Connection
from network.stock.models import StockPosition, StockSnapshot

# A conditional update fails only when another order took the units since they were read; the
# order is then routed again on fresh figures (perhaps to another source) a few times at most.
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class LineInput:
    retailer_sku: str
    quantity: int


def place_order(
    session: Session,
    *,
    retailer_id: int,
    reference: str,
    lines: Sequence[LineInput],
    ship_to: dict,
    allow_partial: bool = False,
    allow_split: bool = True,
    keep_unfilled: bool = False,
    now: dt.datetime,
) -> Order:
    """Route and reserve every line; return the accepted order with its purchase orders.

    All of the order is reserved, or nothing is (with `allow_partial`, what can be reserved).
    `keep_unfilled` (with `allow_partial`): the order is kept even when no unit of it can be
    reserved, as a store order the customer has already paid for must be (its lines are flagged).
    Lines accepted short are flagged `unfillable` (network/flags) through `accepted`.
    Raises InvalidInput (unknown sku, no lines), OutOfStock (with the shortfall per line).
    """
    lines = [LineInput(normal_sku(line.retailer_sku), line.quantity) for line in lines]
    if not lines:
        raise InvalidInput("an order needs lines", errors={"lines": ["at least one line"]})
    items, candidates, sourcing = _read(session, retailer_id, lines, now)
    for attempt in range(ATTEMPTS):
        if attempt:  # routed again on fresh figures after losing a race
            candidates = reserving.candidates(session, retailer_id, sorted(set(items.values())), now)
        candidates = risk.with_risk(session, retailer_id, candidates, now)  # predictive model only
        requests = [
            LineRequest(line.quantity, candidates.get(items[line.retailer_sku], ())) for line in lines
        ]
        plan = allocate_order(requests, allow_split=allow_split)
        filled = [sum(a.quantity for a in allocations) for allocations in plan]
        short = [
            {"retailer_sku": line.retailer_sku, "requested": line.quantity, "available": got}
            for line, got in zip(lines, filled, strict=True)
            if got < line.quantity
        ]
        if (short and not allow_partial) or not (any(filled) or (allow_partial and keep_unfilled)):
            raise OutOfStock(
                "not enough stock for every line; nothing was reserved "
                "(`available` counts units already given to earlier lines of this order)",
                lines=short,
            )
        buffers = {c.variant_id: c.buffer for cs in candidates.values() for c in cs}
        try:
            committed_after = _reserve_all(session, plan, buffers, now)
        except reserving.Lost:
            continue
        order = _create(
            session,
            retailer_id=retailer_id,
            reference=reference,
            lines=lines,
            items=items,
            plan=plan,
            committed_after=committed_after,
            ship_to=ship_to,
            allow_partial=allow_partial,
            allow_split=allow_split,
            now=now,
        )
        _announce(session, order, sourcing, now=now)
        accepted.send(session, order, now=now)
        return order
    raise OutOfStock(
        "the stock was taken by concurrent orders while this one was placed; nothing was reserved",
        lines=[
            {"retailer_sku": line.retailer_sku, "requested": line.quantity, "available": got}
            for line, got in zip(lines, filled, strict=True)
        ],
    )


def _read(
    session: Session, retailer_id: int, lines: Sequence[LineInput], now: dt.datetime
) -> tuple[dict[str, int], dict[int, list[reserving.Source]], dict[int, set[int]]]:
    """Return in one query the ordered items by sku, their sellable sources (as `reserving.candidates`), and
    every item each of those variants can fulfil (whose availability the order moves).

    Raises InvalidInput for unknown skus.
    """
    rows = session.execute(
        _read_query(),
        {"retailer_id": retailer_id, "skus": sorted({line.retailer_sku for line in lines}), "now": now},
    ).all()
    found: dict[str, int] = {}
    result: dict[int, list[reserving.Source]] = defaultdict(list)
    fed: dict[int, set[int]] = defaultdict(set)
    seen: set[tuple[int, int]] = set()
    for row in rows:  # one row per (item, source, item the source's variant fulfils)
        found[row.retailer_sku] = row.item_id
        if row.variant_id is None or row.status is None or row.quantity is None:
            continue  # no source, or one whose vendor is not connected or has no position
        fed[row.variant_id].add(row.sourcing_item_id)
        if (row.item_id, row.variant_id) not in seen:
            seen.add((row.item_id, row.variant_id))
            reserving.add_source(result, row, now)
    _check_items(lines, found)
    return found, result, fed


@functools.cache
def _read_query() -> sa.Select:
    """`_read`'s query at `:retailer_id`, `:skus` and `:now`, built once: building it cost as much as running it."""
    held = held_variants(sa.bindparam("now"))
    sourcing = aliased(ItemSource)
    retailer_id = sa.bindparam("retailer_id")
    # One flat chain of outer joins: SQLite materializes a nested join (every source of every
    # connected vendor, for each order), so a source missing a part shows here as NULLs instead.
    return (
        sa.select(
            RetailerItem.retailer_sku,
            RetailerItem.id.label("item_id"),
            *reserving.SOURCE_COLUMNS,
            held.c.variant_id.is_not(None).label("on_hold"),
            sourcing.item_id.label("sourcing_item_id"),
        )
        .select_from(RetailerItem)
        .outerjoin(ItemSource, ItemSource.item_id == RetailerItem.id)
        .outerjoin(VendorVariant, VendorVariant.id == ItemSource.variant_id)
        .outerjoin(StockPosition, StockPosition.variant_id == ItemSource.variant_id)
        .outerjoin(
            Connection,
            sa.and_(Connection.retailer_id == retailer_id, Connection.vendor_id == VendorVariant.vendor_id),
        )
        .outerjoin(StockSnapshot, StockSnapshot.vendor_id == VendorVariant.vendor_id)
        .outerjoin(held, held.c.variant_id == ItemSource.variant_id)
        .outerjoin(sourcing, sourcing.variant_id == ItemSource.variant_id)
        .where(
            RetailerItem.retailer_id == retailer_id,
            RetailerItem.retailer_sku.in_(sa.bindparam("skus", expanding=True)),
        )
    )


def _check_items(lines: Sequence[LineInput], found: dict[str, int]) -> None:
    errors = {
        str(index): {"retailer_sku": [f"no item {line.retailer_sku!r}: create it with PUT /api/v1/items"]}
        for index, line in enumerate(lines)
        if line.retailer_sku not in found
    }
    if errors:
        raise InvalidInput("unknown items; see errors", errors={"lines": errors})


def _reserve_all(
    session: Session, plan: list[list[Allocation]], buffers: dict[int, int], now: dt.datetime
) -> dict[int, int]:
    """Reserve the plan's units, all or none; return committed after, by variant. Raises reserving.Lost.

    Lines drawing on one variant are reserved together, one conditional update per variant, in
    variant order (the order every writer locks positions in). A single update needs no savepoint:
    when it finds the units gone it has changed nothing.
    """
    totals: dict[int, int] = defaultdict(int)
    for allocations in plan:
        for allocation in allocations:
            totals[allocation.variant_id] += allocation.quantity
    variant_ids = sorted(totals)
    if len(variant_ids) == 1:
        (variant_id,) = variant_ids
        return {
            variant_id: reserving.reserve(session, variant_id, totals[variant_id], buffers[variant_id], now)
        }
    with session.begin_nested():  # a later variant lost: undo the earlier ones
        return {
            variant_id: reserving.reserve(session, variant_id, totals[variant_id], buffers[variant_id], now)
            for variant_id in variant_ids
        }


def _create(
    session: Session,
    *,
    retailer_id: int,
    reference: str,
    lines: Sequence[LineInput],
    items: dict[str, int],
    plan: list[list[Allocation]],
    committed_after: dict[int, int],
    ship_to: dict,
    allow_partial: bool,
    allow_split: bool,
    now: dt.datetime,
) -> Order:
    accepted_all = all(
        sum(a.quantity for a in allocations) == line.quantity
        for line, allocations in zip(lines, plan, strict=True)
    )
    order = Order(
        retailer_id=retailer_id,
        reference=reference,
        status=ACCEPTED if accepted_all else PARTIALLY_ACCEPTED,
        ship_to=ship_to,
        allow_partial=allow_partial,
        allow_split=allow_split,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    pos: dict[int, PurchaseOrder] = {}
    vendors = sorted({a.vendor_id for allocations in plan for a in allocations})
    for vendor_id in vendors:
        pos[vendor_id] = PurchaseOrder(
            retailer_id=retailer_id, vendor_id=vendor_id, status=OPEN, created_at=now, updated_at=now
        )
        order.purchase_orders.append(pos[vendor_id])
    po_lines: list[PurchaseOrderLine] = []
    for line_no, (line, allocations) in enumerate(zip(lines, plan, strict=True), start=1):
        order_line = OrderLine(
            line_no=line_no,
            item_id=items[line.retailer_sku],
            retailer_sku=line.retailer_sku,
            requested=line.quantity,
            accepted=sum(a.quantity for a in allocations),
        )
        order.lines.append(order_line)
        # A line created now has no flags yet: say so, rather than have its first reader query.
        set_committed_value(order_line, "open_flags", [])
        for allocation in allocations:
            po_line = reserving.new_po_line(order_line, allocation, now=now)
            pos[allocation.vendor_id].lines.append(po_line)
            po_lines.append(po_line)
    session.flush()
    reserving.write_history(session, po_lines, committed_after, retailer_id=retailer_id, now=now)
    return order


def _announce(session: Session, order: Order, sourcing: dict[int, set[int]], *, now: dt.datetime) -> None:
    key = f"order:{order.id}"
    events = [
        (
            order.retailer_id,
            key,
            OrderAccepted(
                order_id=order.id,
                reference=order.reference,
                status=order.status,
                lines=[
                    {
                        "line_id": line.id,
                        "retailer_sku": line.retailer_sku,
                        "requested": line.requested,
                        "accepted": line.accepted,
                    }
                    for line in order.lines
                ],
                purchase_order_ids=[po.id for po in order.purchase_orders],
            ),
        )
    ]
    variant_ids = set()
    for po in order.purchase_orders:
        events.append(
            (
                po.vendor_id,
                key,
                PurchaseOrderCreated(
                    purchase_order_id=po.id,
                    order_id=order.id,
                    lines=[
                        {"line_id": line.id, "variant_id": line.variant_id, "quantity": line.ordered}
                        for line in po.lines
                    ],
                ),
            )
        )
        variant_ids.update(line.variant_id for line in po.lines)
    record_many(session, events, now=now)
    if variant_ids <= sourcing.keys():
        moved = sorted(set().union(*(sourcing[v] for v in variant_ids)))
    else:  # a source first seen when routed again after a lost race
        moved = items_sourcing(session, sorted(variant_ids))
    publish_changes(session, moved, now=now)
