"""The one way a purchase-order line changes, shared by every transition (network/orders/services.py).

A `Change` locks the purchase order, then its lines, then the positions they draw on (in variant
order); moves `committed` by exactly the change in each line's unreflected units; writes the
history and the ledger; and, when it finishes, records the event, publishes the availability that
moved and sends `transitioned` (flags react in the same transaction).
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
from sqlalchemy.orm.attributes import set_committed_value

from network.availability.services import items_sourcing, publish_changes
from network.db import is_postgres
from network.errors import InvalidInput, NotFound
from network.orders import inflight
from network.orders.lifecycle import DEAD, line_state, po_state
from network.orders.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderTransition,
)
from network.outbox.events import (
    DomainEvent,
)
from network.outbox.services import record_many
from network.signals import Signal

if TYPE_CHECKING:
    from network.flags.hooks import Refusal


# After every transition (session, po, changes, reasons, actor_org_id=, refusal=, now=), in its
# transaction: flags react (refusals flagged, oversells held, answered flags cleared, reroutes),
# connected in network/flags/__init__.py. Orders never import flags.
transitioned = Signal("orders.transitioned")
# After an order was accepted (placement), or more of its lines' units were later (session, order,
# now=): flags raise `unfillable` on the lines accepted short, and clear it on lines now whole.
accepted = Signal("orders.accepted")
# After the retailer cancelled an order's lines (session, order, order_line_ids, now=): flags
# clear the `unfillable` flags of those lines, whose missing units nobody waits for any more.
withdrawn = Signal("orders.withdrawn")


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
    # The lines just read are the collection (a refreshed purchase order would load it again).
    set_committed_value(po, "lines", session.scalars(lines_query, {"po_id": po_id}).all())
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


def vendor_po(session: Session, po_id: int, vendor_id: int) -> PurchaseOrder:
    po = lock_purchase_order(session, po_id)
    if po is None or po.vendor_id != vendor_id:
        raise NotFound(f"purchase order {po_id} not found")
    return po


class Change:
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
        # A Core insert: the row is the unit of work's, which cost more than the rest of apply.
        self.session.connection().execute(
            _TRANSITION_INSERT,
            {
                "po_id": self.po.id,
                "po_line_id": line.id,
                "at": self.now,
                "actor": "org",
                "actor_org_id": self.actor_org_id,
                "actor_user_id": None,
                "action": action,
                "from_state": from_state,
                "to_state": line.status,
                "quantity": quantity,
                "reason": reason[:500],
            },
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


_TRANSITION_INSERT = PurchaseOrderTransition.__table__.insert()


def requested_lines(
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


def is_dead(line: PurchaseOrderLine) -> bool:
    return line.status in DEAD
