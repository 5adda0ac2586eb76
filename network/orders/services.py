"""Purchase-order transitions (acknowledge, reject, ship, cancel) and the reads, with tenant checks.

Every transition checks every requested line first and changes nothing if one is illegal, then
applies them through one `Change` (network/orders/changes.py: locks, `committed`, history, ledger,
event, the `transitioned` signal).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from network.errors import IllegalTransition, InvalidInput
from network.orders.changes import (
    Change,
    LineQuantity,
    is_dead,
    lock_purchase_order,
    requested_lines,
    vendor_po,
    withdrawn,
)
from network.orders.models import (
    OPEN,
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Shipment,
    ShipmentLine,
)
from network.orders.queries import get_order
from network.outbox.events import (
    DomainEvent,
    PurchaseOrderAcknowledged,
    PurchaseOrderCancelled,
    PurchaseOrderRejected,
    PurchaseOrderShipped,
)
from network.outbox.services import record_many

if TYPE_CHECKING:
    from network.flags.hooks import Refusal


# --- vendor transitions ------------------------------------------------------------------------


def acknowledge(
    session: Session, *, vendor_id: int, po_id: int, lines: Sequence[LineQuantity] | None, now: dt.datetime
) -> PurchaseOrder:
    """Accept lines (all live ones if none given). A quantity below the line's live units rejects the rest.

    Acknowledging an acknowledged line again changes nothing. Raises NotFound, IllegalTransition.
    """
    po = vendor_po(session, po_id, vendor_id)
    targets = requested_lines(po, lines)
    if lines is None:
        targets = [(line, None) for line, _ in targets if not is_dead(line)]
        if not targets:
            raise IllegalTransition(f"purchase order {po.id} has no live line to acknowledge")
    work = []
    for line, quantity in targets:
        if is_dead(line):
            raise IllegalTransition(f"line {line.id} is {line.status}; it cannot be acknowledged")
        if quantity is not None and quantity > line.live:
            raise IllegalTransition(
                f"line {line.id} has {line.live} live units; cannot acknowledge {quantity}"
            )
        if line.acknowledged_at is not None:
            if quantity is not None and quantity != line.live:
                raise IllegalTransition(
                    f"line {line.id} is already acknowledged for {line.live} units; cancel units instead"
                )
            continue  # a re-sent acknowledgement
        if quantity is not None and quantity < 1:
            raise InvalidInput(errors={"lines": ["quantity must be at least 1"]})
        work.append((line, line.live if quantity is None else quantity))
    change = Change(session, po, actor_org_id=vendor_id, now=now)
    change.lock_positions([line for line, _ in work])
    rejected = []
    for line, quantity in work:
        rest = line.live - quantity
        if rest:
            change.apply(
                line, _counter("rejected", rest), action="reject", quantity=rest, reason="not acknowledged"
            )
            rejected.append({"line_id": line.id, "order_line_id": line.order_line_id, "quantity": rest})
        change.apply(line, _acknowledged(now), action="acknowledge", quantity=quantity)
    change.finish(
        lambda: PurchaseOrderAcknowledged(
            purchase_order_id=po.id,
            order_id=po.order_id,
            status=po.status,
            lines=change.lines_of("acknowledge"),
        )
    )
    if rejected:
        _record(
            session,
            po,
            PurchaseOrderRejected(po.id, po.order_id, po.status, "not acknowledged", rejected),
            now,
        )
    return po


def reject(
    session: Session,
    *,
    vendor_id: int,
    po_id: int,
    lines: Sequence[LineQuantity] | None,
    reason: str,
    now: dt.datetime,
    refusal: Refusal | None = None,
) -> PurchaseOrder:
    """Refuse units of lines not yet acknowledged (all of them if no lines are given).

    `refusal` says why (a reason code) and how long an oversell is held (network/flags/hooks.py).
    Raises NotFound, IllegalTransition.
    """
    po = vendor_po(session, po_id, vendor_id)
    targets = requested_lines(po, lines)
    if lines is None:
        targets = [(line, None) for line, _ in targets if line.status == OPEN]
        if not targets:
            raise IllegalTransition(
                f"purchase order {po.id} has no open line to reject; cancel units instead"
            )
    work = []
    for line, quantity in targets:
        if line.status != OPEN:
            hint = "" if is_dead(line) else "; cancel its unshipped units instead"
            raise IllegalTransition(f"line {line.id} is {line.status}; only open lines can be rejected{hint}")
        quantity = line.live if quantity is None else quantity
        if quantity > line.live:
            raise IllegalTransition(f"line {line.id} has {line.live} live units; cannot reject {quantity}")
        work.append((line, quantity))
    change = Change(session, po, actor_org_id=vendor_id, now=now, refusal=refusal)
    change.lock_positions([line for line, _ in work])
    for line, quantity in work:
        change.apply(line, _counter("rejected", quantity), action="reject", quantity=quantity, reason=reason)
    change.finish(
        lambda: PurchaseOrderRejected(po.id, po.order_id, po.status, reason, change.lines_of("reject"))
    )
    return po


def ship(
    session: Session,
    *,
    vendor_id: int,
    po_id: int,
    carrier: str,
    tracking_number: str,
    lines: Sequence[LineQuantity],
    now: dt.datetime,
) -> Shipment:
    """Record a shipment of some unshipped units. Raises NotFound, IllegalTransition, InvalidInput."""
    po = vendor_po(session, po_id, vendor_id)
    if not lines:
        raise InvalidInput("a shipment needs lines", errors={"lines": ["at least one line"]})
    work = []
    for line, quantity in requested_lines(po, lines):
        if is_dead(line):
            raise IllegalTransition(f"line {line.id} is {line.status}; it cannot be shipped")
        if quantity > line.unshipped:
            raise IllegalTransition(
                f"cannot ship {quantity} units of line {line.id}: only {line.unshipped} are unshipped"
            )
        work.append((line, quantity))
    change = Change(session, po, actor_org_id=vendor_id, now=now)
    change.lock_positions([line for line, _ in work])
    for line, quantity in work:

        def mutate(line: PurchaseOrderLine, quantity: int = quantity) -> None:
            line.shipped += quantity
            line.last_shipped_at = now
            if line.acknowledged_at is None:  # shipping accepts the line
                line.acknowledged_at = now

        change.apply(line, mutate, action="ship", quantity=quantity, new_shipment=(now, quantity))
    # After apply, which reads each line's earlier shipments; the lines' changes flush in finish.
    shipment = _write_shipment(session, po, carrier, tracking_number, work, now)
    change.finish(
        lambda: PurchaseOrderShipped(
            purchase_order_id=po.id,
            order_id=po.order_id,
            status=po.status,
            shipment_id=shipment.id,
            carrier=carrier,
            tracking_number=tracking_number,
            lines=change.lines_of("ship"),
        )
    )
    return shipment


def cancel_by_vendor(
    session: Session,
    *,
    vendor_id: int,
    po_id: int,
    lines: Sequence[LineQuantity] | None,
    reason: str,
    now: dt.datetime,
    refusal: Refusal | None = None,
) -> PurchaseOrder:
    """Cancel unshipped units (all of them if no lines are given). Raises NotFound, IllegalTransition."""
    po = vendor_po(session, po_id, vendor_id)
    work = _cancellable(po, requested_lines(po, lines), every=lines is None)
    _cancel(session, po, work, by="vendor", actor_org_id=vendor_id, reason=reason, now=now, refusal=refusal)
    return po


def cancel_for_reroute(
    session: Session, *, po_id: int, po_line_id: int, quantity: int, retailer_id: int, now: dt.datetime
) -> PurchaseOrder:
    """Release units of a line the hub moves to another source (network/orders/reroute.py).

    Raises IllegalTransition (fewer unshipped units).
    """
    po = lock_purchase_order(session, po_id)
    work = _cancellable(po, requested_lines(po, [LineQuantity(po_line_id, quantity)]), every=False)
    reason = "rerouted to another source"
    _cancel(session, po, work, by="hub", actor_org_id=retailer_id, reason=reason, now=now)
    return po


def _cancellable(
    po: PurchaseOrder, targets: list[tuple[PurchaseOrderLine, int | None]], *, every: bool
) -> list[tuple[PurchaseOrderLine, int]]:
    work = []
    for line, quantity in targets:
        if quantity is None:
            if line.unshipped:
                work.append((line, line.unshipped))
            continue
        if quantity > line.unshipped:
            state = "" if line.unshipped else f" ({line.status})"
            raise IllegalTransition(
                f"cannot cancel {quantity} units of line {line.id}: only {line.unshipped} are unshipped{state}"
            )
        work.append((line, quantity))
    if every and not work:
        raise IllegalTransition(f"purchase order {po.id} has no unshipped units left to cancel")
    return work


def _cancel(
    session: Session,
    po: PurchaseOrder,
    work: list[tuple[PurchaseOrderLine, int]],
    *,
    by: str,
    actor_org_id: int,
    reason: str,
    now: dt.datetime,
    refusal: Refusal | None = None,
) -> None:
    change = Change(session, po, actor_org_id=actor_org_id, now=now, refusal=refusal)
    change.lock_positions([line for line, _ in work])
    for line, quantity in work:
        change.apply(line, _counter("cancelled", quantity), action="cancel", quantity=quantity, reason=reason)
    change.finish(
        lambda: PurchaseOrderCancelled(po.id, po.order_id, po.status, by, reason, change.lines_of("cancel")),
        tell_vendor=by == "retailer",
    )


# --- retailer transitions ----------------------------------------------------------------------


def cancel_by_retailer(
    session: Session,
    *,
    retailer_id: int,
    order_id: int,
    lines: Sequence[LineQuantity] | None,
    reason: str = "",
    now: dt.datetime,
) -> Order:
    """Cancel unshipped units of order lines (all of them if no lines are given).

    Cancelling a whole order also gives up the units the hub never found a source for (lines
    accepted short): that alone is something to cancel, so their `unfillable` flags clear.
    Raises NotFound, IllegalTransition (more units than are unshipped), InvalidInput.
    """
    order = get_order(session, order_id, retailer_id=retailer_id)
    pos = {
        po.id: lock_purchase_order(session, po.id) for po in sorted(order.purchase_orders, key=lambda p: p.id)
    }
    per_po: dict[int, list[tuple[PurchaseOrderLine, int]]] = defaultdict(list)
    if lines is None:
        for po in pos.values():
            per_po[po.id] = _cancellable(po, [(line, None) for line in po.lines], every=False)
        short = any(line.accepted < line.requested for line in order.lines)
        if not any(per_po.values()) and not short:
            raise IllegalTransition(f"order {order.id} has no unshipped units left to cancel")
        withdrawn_lines = [line.id for line in order.lines]
    else:
        by_id = {line.id: line for line in order.lines}
        wanted: dict[int, int] = defaultdict(int)
        for item in lines:
            if item.line_id not in by_id:
                raise InvalidInput(
                    f"order {order.id} has no line {item.line_id}", errors={"lines": ["unknown line_id"]}
                )
            wanted[item.line_id] += item.quantity
        for line_id, quantity in sorted(wanted.items()):
            _spread_cancel(by_id[line_id], quantity, per_po)
        # A line still waits for its missing units until every unshipped unit of it is cancelled.
        withdrawn_lines = [
            line_id
            for line_id, quantity in sorted(wanted.items())
            if quantity == sum(pl.unshipped for pl in by_id[line_id].po_lines)
        ]
    for po_id in sorted(per_po):
        if per_po[po_id]:
            _cancel(
                session,
                pos[po_id],
                per_po[po_id],
                by="retailer",
                actor_org_id=retailer_id,
                reason=reason,
                now=now,
            )
    order.updated_at = now
    session.flush()
    withdrawn.send(session, order, withdrawn_lines, now=now)
    return order


def _spread_cancel(
    order_line: OrderLine, quantity: int, per_po: dict[int, list[tuple[PurchaseOrderLine, int]]]
) -> None:
    """Take `quantity` unshipped units from the order line's PO lines, the last routed first."""
    unshipped = sum(po_line.unshipped for po_line in order_line.po_lines)
    if quantity > unshipped:
        raise IllegalTransition(
            f"cannot cancel {quantity} units of line {order_line.id}: only {unshipped} are unshipped"
        )
    for po_line in sorted(order_line.po_lines, key=lambda pl: pl.id, reverse=True):
        take = min(quantity, po_line.unshipped)
        if take:
            per_po[po_line.po_id].append((po_line, take))
            quantity -= take


# --- helpers -----------------------------------------------------------------------------------


def _write_shipment(
    session: Session,
    po: PurchaseOrder,
    carrier: str,
    tracking_number: str,
    work: Sequence[tuple[PurchaseOrderLine, int]],
    now: dt.datetime,
) -> Shipment:
    """Insert a shipment and its lines (Core inserts, the rows the unit of work wrote before) and
    return it as the session would hold it after a flush: loaded, clean, in the session."""
    connection = session.connection()
    shipment = Shipment(po_id=po.id, carrier=carrier, tracking_number=tracking_number, shipped_at=now)
    shipment.id = connection.execute(
        _SHIPMENT_INSERT,
        {"po_id": po.id, "carrier": carrier, "tracking_number": tracking_number, "shipped_at": now},
    ).scalar_one()
    lines = []
    for line, quantity in work:
        values = {"shipment_id": shipment.id, "po_line_id": line.id, "quantity": quantity}
        lines.append(
            ShipmentLine(id=connection.execute(_SHIPMENT_LINE_INSERT, values).scalar_one(), **values)
        )
    for obj in (shipment, *lines):
        make_transient_to_detached(obj)
    set_committed_value(shipment, "lines", lines)
    set_committed_value(shipment, "purchase_order", po)
    for shipment_line in lines:
        set_committed_value(shipment_line, "shipment", shipment)
    session.add(shipment)  # persistent and clean: cascades to its lines
    return shipment


_SHIPMENT_INSERT = Shipment.__table__.insert().returning(Shipment.__table__.c.id)
_SHIPMENT_LINE_INSERT = ShipmentLine.__table__.insert().returning(ShipmentLine.__table__.c.id)


def _counter(name: str, quantity: int) -> Callable[[PurchaseOrderLine], None]:
    def mutate(line: PurchaseOrderLine) -> None:
        setattr(line, name, getattr(line, name) + quantity)

    return mutate


def _acknowledged(now: dt.datetime) -> Callable[[PurchaseOrderLine], None]:
    def mutate(line: PurchaseOrderLine) -> None:
        line.acknowledged_at = now

    return mutate


def _record(session: Session, po: PurchaseOrder, event: DomainEvent, now: dt.datetime) -> None:
    record_many(session, [(po.retailer_id, f"order:{po.order_id}", event)], now=now)
