"""Reroute (DESIGN §9): move a doubtful, unacknowledged line to another source with units, atomically.

The hub reserves the units at another source of the retailer item (the same reads, conditional
update and history an order uses: `reserving`), creates a new purchase order for that vendor,
releases the units at the old source (unless the vendor already refused them) and tells the
retailer and both vendors. If no other source has the units, or a row it needs is busy, nothing
changes. Flags decide when to reroute and resolve what the move answers (network/flags/reroute.py);
orders know nothing of flags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.services import items_sourcing, publish_changes
from network.db import is_postgres
from network.errors import IllegalTransition
from network.orders import reserving, risk
from network.orders import services as order_services
from network.orders.lifecycle import po_state
from network.orders.models import OPEN, PurchaseOrder, PurchaseOrderLine
from network.orders.routing import allocate_line
from network.outbox.events import OrderLineRerouted, PurchaseOrderCancelled, PurchaseOrderCreated
from network.outbox.services import record_many
from network.partners.models import Organization
from network.stock.models import StockPosition


def allowed(session: Session, line: PurchaseOrderLine) -> bool:
    """Tell whether the hub may move this line: the retailer lets it, and the vendor has not accepted it."""
    if line.acknowledged_at is not None or line.order_line.item_id is None:
        return False
    return bool(
        session.scalar(
            sa.select(Organization.auto_reroute).where(Organization.id == line.purchase_order.retailer_id)
        )
    )


# --- moving a line ----------------------------------------------------------------------------


def reroute_line(
    session: Session,
    line: PurchaseOrderLine,
    *,
    quantity: int,
    release: bool,
    now: dt.datetime,
    answered: Callable[[], None],
    to_variant_id: int | None = None,
    exclude: Collection[int] = (),
    at_least: float | None = None,
) -> list[PurchaseOrderLine] | None:
    """Move `quantity` units of a line to other sources; return the new lines, or None if it cannot.

    `release`: the units are still reserved at the line's source (a flagged open line) and are
    released there; otherwise the vendor already refused them. The caller checked `allowed`.
    `answered` runs once the new lines exist and before the old units are released: the caller
    (network/flags/reroute.py) resolves the flags the move answers there. `to_variant_id` moves
    the units to that source only (a person's choice); `exclude` names sources not to move to.
    `at_least`: move only to sources that ship the units with at least this probability (routing
    by risk, network/orders/risk.py; a retailer on the fixed model then has none to move to).
    For a retailer on the predictive model the likelier source is preferred, as when it ordered.
    """
    po = line.purchase_order
    order = po.order
    item_id = line.order_line.item_id
    if quantity <= 0 or item_id is None:
        return None
    if release and not _try_lock(session, PurchaseOrder, PurchaseOrder.id, [po.id]):
        return None  # a transition holds it: leave the flag, the evaluator tries again
    candidates = [
        c
        for c in reserving.candidates(session, po.retailer_id, [item_id], now).get(item_id, [])
        if c.variant_id != line.variant_id
        and c.variant_id not in exclude
        and to_variant_id in (None, c.variant_id)
    ]
    candidates = list(
        risk.with_risk(
            session, po.retailer_id, {item_id: candidates}, now, even_one=at_least is not None
        ).get(item_id, [])
    )
    if at_least is not None:
        candidates = [c for c in candidates if (risk.likely_to_ship(c, quantity) or 0.0) >= at_least]
    plan = allocate_line(quantity, candidates, allow_split=order.allow_split)
    if sum(a.quantity for a in plan) < quantity:
        return None
    buffers = {c.variant_id: c.buffer for c in candidates}
    try:
        with session.begin_nested():
            new_lines = _move(
                session, line, plan, buffers, quantity=quantity, release=release, now=now, answered=answered
            )
    except (reserving.Lost, IllegalTransition):
        return None
    return new_lines


def _move(session, line, plan, buffers, *, quantity, release, now, answered) -> list[PurchaseOrderLine]:  # noqa: ANN001
    po = line.purchase_order
    variant_ids = sorted({a.variant_id for a in plan})
    if not _try_lock(session, StockPosition, StockPosition.variant_id, variant_ids):
        raise reserving.Lost(variant_ids)
    totals: dict[int, int] = {}
    for allocation in plan:
        totals[allocation.variant_id] = totals.get(allocation.variant_id, 0) + allocation.quantity
    committed_after = {
        vid: reserving.reserve(session, vid, totals[vid], buffers[vid], now) for vid in variant_ids
    }
    new_pos: dict[int, PurchaseOrder] = {}
    new_lines = []
    for allocation in plan:
        new_po = new_pos.get(allocation.vendor_id)
        if new_po is None:
            # Built through the relationships, so the order's collections in this session see them.
            new_po = PurchaseOrder(
                order=po.order,
                retailer_id=po.retailer_id,
                vendor_id=allocation.vendor_id,
                status=OPEN,
                created_at=now,
                updated_at=now,
            )
            session.add(new_po)
            new_pos[allocation.vendor_id] = new_po
        new_line = reserving.new_po_line(line.order_line, allocation, now=now)
        new_po.lines.append(new_line)
        new_lines.append(new_line)
    session.flush()
    reserving.write_history(session, new_lines, committed_after, retailer_id=po.retailer_id, now=now)
    answered()
    if release:
        order_services.cancel_for_reroute(
            session, po_id=po.id, po_line_id=line.id, quantity=quantity, retailer_id=po.retailer_id, now=now
        )
    for new_po in new_pos.values():
        new_po.status = po_state(new_line.status for new_line in new_po.lines)
    _announce(session, line, new_lines, quantity=quantity, release=release, now=now)
    publish_changes(session, items_sourcing(session, variant_ids), now=now)
    return new_lines


def _try_lock(session: Session, model: type, column: sa.ColumnElement[int], ids: list[int]) -> bool:
    """Lock rows without waiting (PostgreSQL); False if another transaction holds one of them.

    Rerouting runs inside work that already holds other locks (a feed's positions, a purchase
    order): waiting here could close a cycle, so a busy row means "not now".
    """
    if not is_postgres(session):
        return True
    got = session.scalars(
        sa.select(column).where(column.in_(ids)).order_by(column).with_for_update(skip_locked=True)
    ).all()
    return len(got) == len(set(ids))


def _announce(
    session: Session,
    line: PurchaseOrderLine,
    new_lines: list[PurchaseOrderLine],
    *,
    quantity: int,
    release: bool,
    now: dt.datetime,
) -> None:
    po = line.purchase_order
    key = f"order:{po.order_id}"
    to = [
        {
            "purchase_order_id": new.po_id,
            "purchase_order_line_id": new.id,
            "vendor_id": new.vendor_id,
            "vendor_variant_id": new.variant_id,
            "quantity": new.ordered,
        }
        for new in new_lines
    ]
    events = [
        (po.retailer_id, key, OrderLineRerouted(po.order_id, line.order_line_id, line.id, quantity, to))
    ]
    by_po: dict[int, list[PurchaseOrderLine]] = {}
    for new in new_lines:
        by_po.setdefault(new.po_id, []).append(new)
    for po_id, lines in by_po.items():
        created = PurchaseOrderCreated(
            purchase_order_id=po_id,
            order_id=po.order_id,
            lines=[
                {"line_id": new.id, "variant_id": new.variant_id, "quantity": new.ordered} for new in lines
            ],
        )
        events.append((lines[0].vendor_id, key, created))
    if release:
        cancelled = PurchaseOrderCancelled(
            purchase_order_id=po.id,
            order_id=po.order_id,
            status=po.status,
            by="hub",
            reason="rerouted to another source",
            lines=[
                {
                    "line_id": line.id,
                    "order_line_id": line.order_line_id,
                    "quantity": quantity,
                    "status": line.status,
                }
            ],
        )
        events.append((po.vendor_id, key, cancelled))
    record_many(session, events, now=now)
