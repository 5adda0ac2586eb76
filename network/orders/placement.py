"""Order intake: route each line, reserve units atomically, create the purchase orders (DESIGN §7)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from network import direct
from network.availability.models import AvailabilitySettings
from network.availability.services import held_variants, items_sourcing, publish_changes, publish_locked
from network.availability.settings import note_model
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.catalog.skus import normal_sku
from network.db import is_postgres
from network.errors import InvalidInput, OutOfStock
from network.orders import placement_pg, reserving, risk
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
from network.outbox.events import DomainEvent, OrderAccepted, PurchaseOrderCreated
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
        order_fields = {
            "retailer_id": retailer_id,
            "reference": reference,
            "status": ACCEPTED if short == [] else PARTIALLY_ACCEPTED,
            "ship_to": ship_to,
            "allow_partial": allow_partial,
            "allow_split": allow_split,
            "created_at": now,
            "updated_at": now,
        }
        try:
            if is_postgres(session):
                order = _place_in_sql(session, order_fields, lines, items, plan, buffers, sourcing, now=now)
            else:
                order = _place_in_sqlite(
                    session, order_fields, lines, items, plan, buffers, sourcing, now=now
                )
        except reserving.Lost:
            continue
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
    params = {"retailer_id": retailer_id, "skus": sorted({line.retailer_sku for line in lines}), "now": now}
    if is_postgres(session):
        rows = direct.run(session, _direct_read(), params, named=True)
    else:
        rows = session.execute(_read_query(), params).all()
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
    # The retailer's model, for the flags' look at the new lines (likely_short), read along.
    note_model(session, retailer_id=retailer_id, model=rows[0].availability_model)
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
            AvailabilitySettings.model.label("availability_model"),
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
        .outerjoin(AvailabilitySettings, AvailabilitySettings.retailer_id == retailer_id)
        .where(
            RetailerItem.retailer_id == retailer_id,
            RetailerItem.retailer_sku.in_(sa.bindparam("skus", expanding=True)),
        )
    )


@functools.cache
def _direct_read() -> direct.Direct:
    """`_read_query` through the driver (PostgreSQL: `network.direct`), the skus as an array."""
    return direct.Direct(_read_query())


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
    totals = _totals(plan)
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


def _totals(plan: list[list[Allocation]]) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for allocations in plan:
        for allocation in allocations:
            totals[allocation.variant_id] += allocation.quantity
    return totals


def _place_in_sqlite(
    session: Session,
    order_fields: dict,
    lines: Sequence[LineInput],
    items: dict[str, int],
    plan: list[list[Allocation]],
    buffers: dict[int, int],
    sourcing: dict[int, set[int]],
    *,
    now: dt.datetime,
) -> Order:
    """Reserve, then write the order's rows with Core inserts (SQLite). Raises reserving.Lost.

    The rows, their values and their ids are those the unit of work wrote before (each table's rows
    in the same order); the returned objects are built loaded and clean, as on PostgreSQL, instead
    of flushed: the unit of work cost about a third of an order's placement here.
    """
    committed_after = _reserve_all(session, plan, buffers, now)
    vendors = sorted({a.vendor_id for allocations in plan for a in allocations})
    ids = _insert_rows(session, order_fields, vendors, lines, items, plan, now=now)
    order, po_lines = _loaded_order(session, ids, order_fields, vendors, lines, items, plan, now=now)
    reserving.write_history(session, po_lines, committed_after, retailer_id=order.retailer_id, now=now)
    events, variant_ids = _order_events(order)
    record_many(session, events, now=now)
    publish_changes(session, _moved_items(session, sourcing, variant_ids), now=now)
    return order


@dataclass(frozen=True, slots=True)
class _RowIds:
    """The ids of a new order's rows, as `_loaded_order` takes them (placement_pg.Claimed has them too)."""

    order_id: int
    line_ids: list[int]
    po_ids: list[int]
    po_line_ids: list[int]


def _insert_rows(
    session: Session,
    order_fields: dict,
    vendors: list[int],
    lines: Sequence[LineInput],
    items: dict[str, int],
    plan: list[list[Allocation]],
    *,
    now: dt.datetime,
) -> _RowIds:
    """Insert the order, its purchase orders (in vendor order), its lines and their purchase-order
    lines (in line, then allocation order): one single-row INSERT ... RETURNING id each."""
    connection = session.connection()
    insert = _inserts()
    order_id = connection.execute(insert[Order], order_fields).scalar_one()
    po_ids = {
        vendor_id: connection.execute(
            insert[PurchaseOrder],
            {
                "order_id": order_id,
                "retailer_id": order_fields["retailer_id"],
                "vendor_id": vendor_id,
                "status": OPEN,
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        for vendor_id in vendors
    }
    line_ids = [
        connection.execute(
            insert[OrderLine],
            {
                "order_id": order_id,
                "line_no": line_no,
                "item_id": items[line.retailer_sku],
                "retailer_sku": line.retailer_sku,
                "requested": line.quantity,
                "accepted": sum(a.quantity for a in allocations),
            },
        ).scalar_one()
        for line_no, (line, allocations) in enumerate(zip(lines, plan, strict=True), start=1)
    ]
    po_line_ids = [
        connection.execute(
            insert[PurchaseOrderLine],
            {
                "po_id": po_ids[allocation.vendor_id],
                "order_line_id": line_id,
                "variant_id": allocation.variant_id,
                "vendor_id": allocation.vendor_id,
                "unit_cost": allocation.cost,
                "ordered": allocation.quantity,
                "cancelled": 0,
                "rejected": 0,
                "shipped": 0,
                "returned": 0,
                "acknowledged_at": None,
                "last_shipped_at": None,
                "status": OPEN,
                "settled": False,
                "updated_at": now,
            },
        ).scalar_one()
        for allocations, line_id in zip(plan, line_ids, strict=True)
        for allocation in allocations
    ]
    return _RowIds(order_id, line_ids, [po_ids[vendor_id] for vendor_id in vendors], po_line_ids)


@functools.cache
def _inserts() -> dict[type, sa.Insert]:
    """A single-row INSERT ... RETURNING id for each of the order's tables, built once."""
    return {
        model: model.__table__.insert().returning(model.__table__.c.id)
        for model in (Order, PurchaseOrder, OrderLine, PurchaseOrderLine)
    }


def _place_in_sql(
    session: Session,
    order_fields: dict,
    lines: Sequence[LineInput],
    items: dict[str, int],
    plan: list[list[Allocation]],
    buffers: dict[int, int],
    sourcing: dict[int, set[int]],
    *,
    now: dt.datetime,
) -> Order:
    """The same on PostgreSQL in two statements (placement_pg): the reservation with the rows' ids
    and the moved items' locks, then every row and event with the items' sources, whose figures
    are published from there. Raises reserving.Lost (nothing changed)."""
    totals = _totals(plan)
    vendors = sorted({a.vendor_id for allocations in plan for a in allocations})
    claimed = placement_pg.claim(
        session,
        totals,
        buffers,
        lines=len(lines),
        pos=len(vendors),
        po_lines=sum(len(allocations) for allocations in plan),
        item_ids=_moved_items(session, sourcing, set(totals)),
        now=now,
    )
    order, po_lines = _loaded_order(session, claimed, order_fields, vendors, lines, items, plan, now=now)
    ledger, history = reserving.history_rows(
        po_lines, claimed.committed_after, retailer_id=order.retailer_id, now=now
    )
    events, _ = _order_events(order)
    sources = placement_pg.write(
        session, order, po_lines, ledger, history, events, item_ids=[i[0] for i in claimed.items], now=now
    )
    publish_locked(session, claimed.items, now=now, sources=sources)
    return order


def _loaded_order(
    session: Session,
    claimed: placement_pg.Claimed | _RowIds,
    order_fields: dict,
    vendors: list[int],
    lines: Sequence[LineInput],
    items: dict[str, int],
    plan: list[list[Allocation]],
    *,
    now: dt.datetime,
) -> tuple[Order, list[PurchaseOrderLine]]:
    """The order, its lines, purchase orders and their lines as the session would hold them after a
    flush (every column and collection loaded, nothing pending), with the claimed ids: the rows
    themselves are written by one statement, not by the unit of work."""
    order = Order(id=claimed.order_id, **order_fields)
    pos = {
        vendor_id: PurchaseOrder(
            id=po_id,
            order_id=order.id,
            retailer_id=order.retailer_id,
            vendor_id=vendor_id,
            status=OPEN,
            created_at=now,
            updated_at=now,
        )
        for vendor_id, po_id in zip(vendors, claimed.po_ids, strict=True)
    }
    order_lines, po_lines = [], []
    lines_of: dict[int, list[PurchaseOrderLine]] = {vendor_id: [] for vendor_id in vendors}
    po_line_ids = iter(claimed.po_line_ids)
    for line_no, (line, allocations, line_id) in enumerate(
        zip(lines, plan, claimed.line_ids, strict=True), start=1
    ):
        order_line = OrderLine(
            id=line_id,
            order_id=order.id,
            line_no=line_no,
            item_id=items[line.retailer_sku],
            retailer_sku=line.retailer_sku,
            requested=line.quantity,
            accepted=sum(a.quantity for a in allocations),
        )
        own = []
        for allocation in allocations:
            po_line = PurchaseOrderLine(
                id=next(po_line_ids),
                po_id=pos[allocation.vendor_id].id,
                order_line_id=line_id,
                variant_id=allocation.variant_id,
                vendor_id=allocation.vendor_id,
                unit_cost=allocation.cost,
                ordered=allocation.quantity,
                cancelled=0,
                rejected=0,
                shipped=0,
                returned=0,
                acknowledged_at=None,
                last_shipped_at=None,
                status=OPEN,
                settled=False,
                updated_at=now,
            )
            own.append(po_line)
            lines_of[allocation.vendor_id].append(po_line)
        order_lines.append((order_line, own))
        po_lines.extend(own)
    for obj in (order, *pos.values(), *(line for line, _ in order_lines), *po_lines):
        make_transient_to_detached(obj)
    set_committed_value(order, "lines", [line for line, _ in order_lines])
    set_committed_value(order, "purchase_orders", list(pos.values()))
    for order_line, own in order_lines:
        set_committed_value(order_line, "order", order)
        set_committed_value(order_line, "po_lines", own)
        set_committed_value(order_line, "open_flags", [])  # a line created now has no flags yet
    for vendor_id, po in pos.items():
        set_committed_value(po, "order", order)
        set_committed_value(po, "lines", lines_of[vendor_id])
        set_committed_value(po, "shipments", [])
    for po_line in po_lines:
        set_committed_value(po_line, "purchase_order", pos[po_line.vendor_id])
    for order_line, own in order_lines:
        for po_line in own:
            set_committed_value(po_line, "order_line", order_line)
    session.add(order)  # persistent and clean: cascades to the loaded collections
    return order, po_lines


def _moved_items(session: Session, sourcing: dict[int, set[int]], variant_ids: set[int]) -> list[int]:
    """Every item the variants can fulfil (whose availability the order moves)."""
    if variant_ids <= sourcing.keys():
        return sorted(set().union(*(sourcing[v] for v in variant_ids)))
    return items_sourcing(session, sorted(variant_ids))  # a source first seen when routed again


def _order_events(order: Order) -> tuple[list[tuple[int, str, DomainEvent]], set[int]]:
    """The placed order's events (`order.accepted`, one `po.created` per purchase order), and the
    variants it draws on."""
    key = f"order:{order.id}"
    events: list[tuple[int, str, DomainEvent]] = [
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
    return events, variant_ids
