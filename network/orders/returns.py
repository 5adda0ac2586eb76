"""Returns (DESIGN §7): opened by the retailer for shipped units, received and graded by the vendor.

Received units count as `pending_inspection`, never sellable. Grading moves them: resellable
units back into `quantity`, damaged ones into `damaged`. Both steps lock the vendor's stock
writers (as feeds do), change positions in variant order, and write the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.availability.services import items_sourcing, publish_changes
from network.db import is_postgres
from network.errors import IllegalTransition, InvalidInput, NotFound
from network.orders.models import (
    RETURN_CLOSED,
    RETURN_OPEN,
    RETURN_RECEIVED,
    PurchaseOrderLine,
    Return,
    ReturnLine,
)
from network.orders.queries import get_order
from network.orders.services import LineQuantity, lock_purchase_order
from network.outbox.events import ReturnGraded, ReturnOpened, ReturnReceived
from network.outbox.services import record_many
from network.stock.models import StockLedgerEntry, StockPosition
from network.stock.services import lock_vendor_stock

UNFINISHED = (RETURN_OPEN, RETURN_RECEIVED)


def open_return(
    session: Session,
    *,
    retailer_id: int,
    order_id: int,
    lines: Sequence[LineQuantity],
    reason: str,
    now: dt.datetime,
) -> list[Return]:
    """Open returns for shipped units of order lines: one return per purchase order (vendor).

    Raises NotFound, InvalidInput, IllegalTransition (more units than shipped and not yet returned).
    """
    if not lines:
        raise InvalidInput("a return needs lines", errors={"lines": ["at least one line"]})
    order = get_order(session, order_id, retailer_id=retailer_id)
    for po in sorted(order.purchase_orders, key=lambda p: p.id):
        lock_purchase_order(session, po.id)
    by_id = {line.id: line for line in order.lines}
    wanted: dict[int, int] = defaultdict(int)
    for item in lines:
        if item.line_id not in by_id:
            raise InvalidInput(
                f"order {order.id} has no line {item.line_id}", errors={"lines": ["unknown line_id"]}
            )
        wanted[item.line_id] += item.quantity
    takes: dict[int, list[tuple[PurchaseOrderLine, int]]] = defaultdict(list)
    for line_id, quantity in sorted(wanted.items()):
        po_lines = sorted(by_id[line_id].po_lines, key=lambda pl: pl.id)
        returnable = sum(pl.shipped - pl.returned for pl in po_lines)
        if quantity > returnable:
            raise IllegalTransition(
                f"cannot return {quantity} units of line {line_id}: only {returnable} shipped units are not yet returned"
            )
        for po_line in po_lines:
            take = min(quantity, po_line.shipped - po_line.returned)
            if take:
                takes[po_line.po_id].append((po_line, take))
                quantity -= take
    returns = []
    pos = {po.id: po for po in order.purchase_orders}
    for po_id in sorted(takes):
        ret = Return(
            order_id=order.id,
            po_id=po_id,
            retailer_id=retailer_id,
            vendor_id=pos[po_id].vendor_id,
            status=RETURN_OPEN,
            reason=reason[:500],
            quantity=sum(take for _, take in takes[po_id]),
            created_at=now,
            updated_at=now,
        )
        for po_line, take in takes[po_id]:
            po_line.returned += take
            po_line.updated_at = now
            ret.lines.append(
                ReturnLine(
                    po_line_id=po_line.id,
                    order_line_id=po_line.order_line_id,
                    variant_id=po_line.variant_id,
                    quantity=take,
                )
            )
        session.add(ret)
        returns.append(ret)
    session.flush()
    events = []
    for ret in returns:
        event = ReturnOpened(
            return_id=ret.id,
            order_id=ret.order_id,
            purchase_order_id=ret.po_id,
            quantity=ret.quantity,
            reason=ret.reason,
            lines=[{"order_line_id": rl.order_line_id, "quantity": rl.quantity} for rl in ret.lines],
        )
        events += [
            (ret.retailer_id, f"order:{ret.order_id}", event),
            (ret.vendor_id, f"return:{ret.id}", event),
        ]
    record_many(session, events, now=now)
    return returns


def _vendor_return(session: Session, return_id: int, vendor_id: int) -> Return:
    query = sa.select(Return).where(Return.id == return_id).options(selectinload(Return.lines))
    if is_postgres(session):
        query = query.with_for_update(of=Return)
    ret = session.scalar(query.execution_options(populate_existing=True))
    if ret is None or ret.vendor_id != vendor_id:
        raise NotFound(f"return {return_id} not found")
    return ret


def receive_return(
    session: Session, *, vendor_id: int, return_id: int, quantity: int, now: dt.datetime
) -> Return:
    """Receive returned units: they count as pending inspection. Raises NotFound, IllegalTransition."""
    ret = _vendor_return(session, return_id, vendor_id)
    expected = ret.quantity - ret.received
    if quantity > expected:
        raise IllegalTransition(f"return {ret.id} expects {expected} more units; cannot receive {quantity}")
    lock_vendor_stock(session, vendor_id)
    per_variant: dict[int, int] = defaultdict(int)
    left = quantity
    for line in ret.lines:
        take = min(left, line.quantity - line.received)
        line.received += take
        per_variant[line.variant_id] += take
        left -= take
    for variant_id in sorted(v for v, q in per_variant.items() if q):
        _move_stock(
            session,
            variant_id,
            {"pending_inspection": per_variant[variant_id]},
            reason="return_received",
            now=now,
            po_line_id=None,
        )
    ret.received += quantity
    _settle_status(ret, now)
    session.flush()
    record_many(
        session,
        [
            (
                ret.retailer_id,
                f"order:{ret.order_id}",
                ReturnReceived(
                    return_id=ret.id, order_id=ret.order_id, received=ret.received, status=ret.status
                ),
            )
        ],
        now=now,
    )
    return ret


def grade_return(
    session: Session, *, vendor_id: int, return_id: int, resellable: int, damaged: int, now: dt.datetime
) -> Return:
    """Grade received units: resellable back to quantity, damaged to damaged.

    Raises NotFound, InvalidInput (nothing to grade), IllegalTransition (more than received and ungraded).
    """
    if resellable + damaged <= 0:
        raise InvalidInput(
            "grade at least one unit", errors={"resellable": ["resellable + damaged must be > 0"]}
        )
    ret = _vendor_return(session, return_id, vendor_id)
    ungraded = ret.received - ret.resellable - ret.damaged
    if resellable + damaged > ungraded:
        raise IllegalTransition(
            f"cannot grade {resellable + damaged} units of return {ret.id}: "
            f"only {ungraded} received units are not yet graded"
        )
    lock_vendor_stock(session, vendor_id)
    good: dict[int, int] = defaultdict(int)
    bad: dict[int, int] = defaultdict(int)
    good_left, bad_left = resellable, damaged
    for line in ret.lines:
        room = line.received - line.resellable - line.damaged
        g = min(good_left, room)
        b = min(bad_left, room - g)
        line.resellable += g
        line.damaged += b
        good[line.variant_id] += g
        bad[line.variant_id] += b
        good_left -= g
        bad_left -= b
    for variant_id in sorted(set(good) | set(bad)):
        g, b = good[variant_id], bad[variant_id]
        if g or b:
            _move_stock(
                session,
                variant_id,
                {"pending_inspection": -(g + b), "quantity": g, "damaged": b},
                reason="return_graded",
                now=now,
                po_line_id=None,
            )
    ret.resellable += resellable
    ret.damaged += damaged
    _settle_status(ret, now)
    session.flush()
    event = ReturnGraded(
        return_id=ret.id,
        order_id=ret.order_id,
        resellable=ret.resellable,
        damaged=ret.damaged,
        status=ret.status,
    )
    record_many(session, [(ret.retailer_id, f"order:{ret.order_id}", event)], now=now)
    if resellable:
        publish_changes(session, items_sourcing(session, sorted(v for v, g in good.items() if g)), now=now)
    return ret


def _move_stock(
    session: Session,
    variant_id: int,
    deltas: dict[str, int],
    *,
    reason: str,
    now: dt.datetime,
    po_line_id: int | None,
) -> None:
    """Add deltas to a position's counts (relative, floored at zero) and write the ledger entry.

    A vendor's own feed may have reported the same returns already (the latest snapshot wins),
    so pending inspection never goes below zero.
    """
    table = StockPosition.__table__
    values = {}
    for name, delta in deltas.items():
        column = table.c[name]
        values[name] = sa.case((column + delta < 0, 0), else_=column + delta) if delta < 0 else column + delta
    before = session.execute(
        sa.select(*(table.c[name] for name in deltas)).where(table.c.variant_id == variant_id)
    ).one()
    after = session.execute(
        table.update()
        .where(table.c.variant_id == variant_id)
        .values(**values, updated_at=now)
        .returning(*(table.c[name] for name in deltas))
    ).one()
    session.execute(
        sa.insert(StockLedgerEntry),
        [
            {
                "variant_id": variant_id,
                "at": now,
                "reason": reason,
                "changes": {name: [before[i], after[i]] for i, name in enumerate(deltas)},
                "po_line_id": po_line_id,
            }
        ],
    )


def _settle_status(ret: Return, now: dt.datetime) -> None:
    graded = ret.resellable + ret.damaged
    if ret.received == ret.quantity and graded == ret.quantity:
        ret.status = RETURN_CLOSED
    elif ret.received:
        ret.status = RETURN_RECEIVED
    ret.updated_at = now


def get_return(session: Session, return_id: int, *, vendor_id: int) -> Return:
    """Raises NotFound (also for another vendor's return)."""
    ret = session.scalar(sa.select(Return).where(Return.id == return_id).options(selectinload(Return.lines)))
    if ret is None or ret.vendor_id != vendor_id:
        raise NotFound(f"return {return_id} not found")
    return ret


def list_returns(
    session: Session, *, vendor_id: int, status: str | None, after_id: int, limit: int
) -> list[Return]:
    """Return a vendor's returns; status `open` means every unfinished one (expected or received)."""
    query = sa.select(Return).where(Return.vendor_id == vendor_id, Return.id > after_id)
    if status == RETURN_OPEN:
        query = query.where(Return.status.in_(UNFINISHED))
    elif status:
        query = query.where(Return.status == status)
    return list(session.scalars(query.order_by(Return.id).limit(limit).options(selectinload(Return.lines))))
