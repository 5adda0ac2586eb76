"""Purchase-order transitions (acknowledge, reject, ship, cancel) and the reads, with tenant checks.

Every transition locks the purchase order, then its lines, then the positions they draw on (in
variant order); moves `committed` by exactly the change in the line's unreflected units; writes
the history, the ledger and the event; and changes nothing if any requested line is illegal.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.services import items_sourcing, publish_changes
from network.db import is_postgres
from network.errors import IllegalTransition, InvalidInput, NotFound
from network.orders import inflight
from network.orders.lifecycle import DEAD, line_state, po_state
from network.orders.models import (
    OPEN,
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderTransition,
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
from network.signals import Signal

if TYPE_CHECKING:
    from network.flags.hooks import Refusal


# After every transition (session, po, changes, reasons, actor_org_id=, refusal=, now=), in its
# transaction: flags react (refusals flagged, oversells held, answered flags cleared, reroutes),
# connected in network/flags/__init__.py. Orders never import flags.
transitioned = Signal("orders.transitioned")


@dataclass(frozen=True, slots=True)
class LineQuantity:
    line_id: int
    quantity: int


# --- locking and the one way a line changes ----------------------------------------------------


def lock_purchase_order(session: Session, po_id: int) -> PurchaseOrder | None:
    """Load a purchase order and its lines with row locks (PostgreSQL), lines in id order."""
    po_query, lines_query = _lock_queries(is_postgres(session))
    po = session.scalar(po_query, {"po_id": po_id})
    if po is None:
        return None
    session.scalars(lines_query, {"po_id": po_id}).all()
    return po


@functools.cache
def _lock_queries(for_update: bool) -> tuple[sa.Select, sa.Select]:
    """The purchase order at `:po_id` and its lines in id order, row-locked on PostgreSQL; built once."""
    po = sa.select(PurchaseOrder).where(PurchaseOrder.id == sa.bindparam("po_id"))
    lines = (
        sa.select(PurchaseOrderLine)
        .where(PurchaseOrderLine.po_id == sa.bindparam("po_id"))
        .order_by(PurchaseOrderLine.id)
    )
    if for_update:
        po, lines = po.with_for_update(), lines.with_for_update()
    return tuple(query.execution_options(populate_existing=True) for query in (po, lines))


def _vendor_po(session: Session, po_id: int, vendor_id: int) -> PurchaseOrder:
    po = lock_purchase_order(session, po_id)
    if po is None or po.vendor_id != vendor_id:
        raise NotFound(f"purchase order {po_id} not found")
    return po


class _Change:
    """Applies mutations to lines of one purchase order, keeping `committed` exact."""

    def __init__(
        self,
        session: Session,
        po: PurchaseOrder,
        *,
        actor_org_id: int,
        now: dt.datetime,
        refusal: Refusal | None = None,
    ) -> None:
        self.session = session
        self.po = po
        self.actor_org_id = actor_org_id
        self.now = now
        self.refusal = refusal
        self.reasons: dict[int, str] = {}
        self.positions: dict[int, inflight.PositionState] = {}
        self.moved: set[int] = set()
        self.changed: list[dict] = []

    def lock_positions(self, lines: Sequence[PurchaseOrderLine]) -> None:
        for variant_id in sorted({line.variant_id for line in lines} - set(self.positions)):
            self.positions[variant_id] = inflight.lock_position(self.session, variant_id)

    def apply(
        self,
        line: PurchaseOrderLine,
        mutate: Callable[[PurchaseOrderLine], None],
        *,
        action: str,
        quantity: int,
        reason: str = "",
        new_shipment: tuple[dt.datetime, int] | None = None,
    ) -> None:
        position = self.positions[line.variant_id]
        shipments = inflight.line_shipments(self.session, [line.id]).get(line.id, [])
        before = inflight.unreflected(inflight.line_view(line, shipments), position)
        from_state = line.status
        mutate(line)
        if new_shipment is not None:
            shipments = [*shipments, new_shipment]
        view = inflight.line_view(line, shipments)
        delta = inflight.unreflected(view, position) - before
        if delta:
            inflight.move_committed(
                self.session,
                variant_id=line.variant_id,
                delta=delta,
                reason=action,
                now=self.now,
                po_line_id=line.id,
            )
            self.moved.add(line.variant_id)
        inflight.settle_if_reflected(line, view, position)
        line.status = line_state(
            ordered=line.ordered,
            cancelled=line.cancelled,
            rejected=line.rejected,
            shipped=line.shipped,
            acknowledged_at=line.acknowledged_at,
        )
        line.updated_at = self.now
        self.session.add(
            PurchaseOrderTransition(
                po_id=self.po.id,
                po_line_id=line.id,
                at=self.now,
                actor="org",
                actor_org_id=self.actor_org_id,
                action=action,
                from_state=from_state,
                to_state=line.status,
                quantity=quantity,
                reason=reason[:500],
            )
        )
        self.reasons[line.id] = reason
        self.changed.append(
            {
                "action": action,
                "line_id": line.id,
                "order_line_id": line.order_line_id,
                "quantity": quantity,
                "status": line.status,
            }
        )

    def lines_of(self, action: str) -> list[dict]:
        return [{k: v for k, v in c.items() if k != "action"} for c in self.changed if c["action"] == action]

    def finish(self, event: Callable[[], DomainEvent] | None, *, tell_vendor: bool = False) -> None:
        """Settle the purchase order's state and publish; `tell_vendor`: the vendor hears the event too
        (a change it did not make itself, such as the retailer's cancellation)."""
        self.po.status = po_state(line.status for line in self.po.lines)
        self.po.updated_at = self.now
        self.session.flush()
        if event is not None and self.changed:
            key = f"order:{self.po.order_id}"
            built = event()
            recipients = [self.po.retailer_id, *([self.po.vendor_id] if tell_vendor else [])]
            record_many(self.session, [(org_id, key, built) for org_id in recipients], now=self.now)
        if self.moved:
            publish_changes(self.session, items_sourcing(self.session, sorted(self.moved)), now=self.now)
        # Flags (DESIGN §9): refusals flagged, oversells held, answered flags cleared, reroutes.
        transitioned.send(
            self.session,
            self.po,
            self.changed,
            self.reasons,
            actor_org_id=self.actor_org_id,
            refusal=self.refusal,
            now=self.now,
        )


def _targets(
    po: PurchaseOrder, lines: Sequence[LineQuantity] | None
) -> list[tuple[PurchaseOrderLine, int | None]]:
    """Resolve requested lines (summing repeats); None means every line. Raises InvalidInput."""
    if lines is None:
        return [(line, None) for line in po.lines]
    by_id = {line.id: line for line in po.lines}
    wanted: dict[int, int] = defaultdict(int)
    unknown = []
    for item in lines:
        if item.line_id not in by_id:
            unknown.append(item.line_id)
        wanted[item.line_id] += item.quantity
    if unknown:
        raise InvalidInput(
            f"purchase order {po.id} has no line {unknown[0]}",
            errors={"lines": [f"unknown line_id {line_id}" for line_id in unknown]},
        )
    return [(by_id[line_id], quantity) for line_id, quantity in sorted(wanted.items())]


def _dead(line: PurchaseOrderLine) -> bool:
    return line.status in DEAD


# --- vendor transitions ------------------------------------------------------------------------


def acknowledge(
    session: Session, *, vendor_id: int, po_id: int, lines: Sequence[LineQuantity] | None, now: dt.datetime
) -> PurchaseOrder:
    """Accept lines (all live ones if none given). A quantity below the line's live units rejects the rest.

    Acknowledging an acknowledged line again changes nothing. Raises NotFound, IllegalTransition.
    """
    po = _vendor_po(session, po_id, vendor_id)
    targets = _targets(po, lines)
    if lines is None:
        targets = [(line, None) for line, _ in targets if not _dead(line)]
        if not targets:
            raise IllegalTransition(f"purchase order {po.id} has no live line to acknowledge")
    work = []
    for line, quantity in targets:
        if _dead(line):
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
    change = _Change(session, po, actor_org_id=vendor_id, now=now)
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
    po = _vendor_po(session, po_id, vendor_id)
    targets = _targets(po, lines)
    if lines is None:
        targets = [(line, None) for line, _ in targets if line.status == OPEN]
        if not targets:
            raise IllegalTransition(
                f"purchase order {po.id} has no open line to reject; cancel units instead"
            )
    work = []
    for line, quantity in targets:
        if line.status != OPEN:
            hint = "" if _dead(line) else "; cancel its unshipped units instead"
            raise IllegalTransition(f"line {line.id} is {line.status}; only open lines can be rejected{hint}")
        quantity = line.live if quantity is None else quantity
        if quantity > line.live:
            raise IllegalTransition(f"line {line.id} has {line.live} live units; cannot reject {quantity}")
        work.append((line, quantity))
    change = _Change(session, po, actor_org_id=vendor_id, now=now, refusal=refusal)
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
    po = _vendor_po(session, po_id, vendor_id)
    if not lines:
        raise InvalidInput("a shipment needs lines", errors={"lines": ["at least one line"]})
    work = []
    for line, quantity in _targets(po, lines):
        if _dead(line):
            raise IllegalTransition(f"line {line.id} is {line.status}; it cannot be shipped")
        if quantity > line.unshipped:
            raise IllegalTransition(
                f"cannot ship {quantity} units of line {line.id}: only {line.unshipped} are unshipped"
            )
        work.append((line, quantity))
    shipment = Shipment(po_id=po.id, carrier=carrier, tracking_number=tracking_number, shipped_at=now)
    for line, quantity in work:
        shipment.lines.append(ShipmentLine(po_line_id=line.id, quantity=quantity))
    change = _Change(session, po, actor_org_id=vendor_id, now=now)
    change.lock_positions([line for line, _ in work])
    for line, quantity in work:

        def mutate(line: PurchaseOrderLine, quantity: int = quantity) -> None:
            line.shipped += quantity
            line.last_shipped_at = now
            if line.acknowledged_at is None:  # shipping accepts the line
                line.acknowledged_at = now

        change.apply(line, mutate, action="ship", quantity=quantity, new_shipment=(now, quantity))
    session.add(shipment)
    session.flush()
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
    po = _vendor_po(session, po_id, vendor_id)
    work = _cancellable(po, _targets(po, lines), every=lines is None)
    _cancel(session, po, work, by="vendor", actor_org_id=vendor_id, reason=reason, now=now, refusal=refusal)
    return po


def cancel_for_reroute(
    session: Session, *, po_id: int, po_line_id: int, quantity: int, retailer_id: int, now: dt.datetime
) -> PurchaseOrder:
    """Release units of a line the hub moves to another source (network/orders/reroute.py).

    Raises IllegalTransition (fewer unshipped units).
    """
    po = lock_purchase_order(session, po_id)
    work = _cancellable(po, _targets(po, [LineQuantity(po_line_id, quantity)]), every=False)
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
    change = _Change(session, po, actor_org_id=actor_org_id, now=now, refusal=refusal)
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
        if not any(per_po.values()):
            raise IllegalTransition(f"order {order.id} has no unshipped units left to cancel")
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
