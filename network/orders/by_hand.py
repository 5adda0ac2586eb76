"""What a retailer's person or API client does to an order by hand: move a line to another source,
cancel units. Each goes to the organization's audit log with what it was before and after.

A hand reroute is the hub's reroute (network/orders/reroute.py) with the retailer choosing: it
moves every unacknowledged unit of an order line, to the source named or to the best ones by
routing, or changes nothing. The retailer's `auto_reroute` policy does not apply: it governs what
the hub does on its own, not what the retailer asks for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog.models import ItemSource
from network.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from network.orders import reserving
from network.orders.models import OPEN, Order, OrderLine, PurchaseOrderLine
from network.orders.queries import get_order
from network.orders.reroute import reroute_line
from network.orders.reserving import Source
from network.orders.services import LineQuantity, cancel_by_retailer
from network.partners import audit

REROUTED = "order_line.rerouted"
CANCELLED = "order_line.cancelled"


class NoSource(Conflict):
    title = "No source has the units"


def order_line_of(order: Order, line_id: int) -> OrderLine:
    """Raises NotFound."""
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise NotFound(f"order {order.id} has no line {line_id}")
    return line


def open_po_lines(order_line: OrderLine) -> list[PurchaseOrderLine]:
    """The purchase-order lines of an order line that may still move: open (no vendor accepted,
    shipped, refused or cancelled their units)."""
    return [po_line for po_line in order_line.po_lines if po_line.status == OPEN]


def reroute_options(
    session: Session, *, retailer_id: int, order_lines: Sequence[OrderLine], now: dt.datetime
) -> dict[int, list[Source]]:
    """The sources each order line's open units could move to, with their available units, by
    routing order (the best first), in one read. A line with nothing to move has none.
    """
    movable = {line.id: open_po_lines(line) for line in order_lines if line.item_id is not None}
    movable = {line_id: po_lines for line_id, po_lines in movable.items() if po_lines}
    lines = [line for line in order_lines if line.id in movable]
    found = (
        reserving.candidates(session, retailer_id, sorted({line.item_id for line in lines}), now)
        if lines
        else {}
    )
    options: dict[int, list[Source]] = {line.id: [] for line in order_lines}
    for line in lines:
        here = {po_line.variant_id for po_line in movable[line.id]}
        options[line.id] = sorted(
            (source for source in found.get(line.item_id, []) if source.variant_id not in here),
            key=lambda s: (s.routing_priority, -s.available, s.item_priority, s.variant_id),
        )
    return options


def reroute_by_hand(
    session: Session,
    *,
    retailer_id: int,
    order_id: int,
    line_id: int,
    to_variant_id: int | None,
    actor: audit.Actor,
    now: dt.datetime,
    answered: Callable[[PurchaseOrderLine], None],
) -> Order:
    """Move an order line's unacknowledged units to `to_variant_id`, or to the best sources by
    routing when None; return the order as it is now.

    `answered(po_line)` runs for each moved purchase-order line once its new lines exist: the
    caller resolves the flags the move answers (network/flags/reroute.py). Raises NotFound
    (another retailer's order, an unknown line), InvalidInput (a variant that is no source of the
    line's item), IllegalTransition (nothing left to move), NoSource (no source has the units, or
    a row the move needs is busy). Nothing changes when it raises.
    """
    order = get_order(session, order_id, retailer_id=retailer_id)
    order_line = order_line_of(order, line_id)
    movable = open_po_lines(order_line)
    if not movable or order_line.item_id is None:
        raise IllegalTransition(
            f"line {line_id} has no unacknowledged units to move: its vendor accepted, shipped,"
            " refused or cancelled them, or its item is gone"
        )
    if to_variant_id is not None:
        sources = session.scalars(
            sa.select(ItemSource.variant_id).where(ItemSource.item_id == order_line.item_id)
        )
        if to_variant_id not in set(sources):
            raise InvalidInput(
                f"vendor variant {to_variant_id} is not a source of item {order_line.retailer_sku}",
                errors={"vendor_variant_id": ["not a source of this line's item"]},
            )
        movable = [po_line for po_line in movable if po_line.variant_id != to_variant_id]
        if not movable:
            raise IllegalTransition(f"line {line_id}'s open units are already with that source")
    quantity = sum(po_line.live for po_line in movable)
    exclude = {po_line.variant_id for po_line in movable}  # units do not swap between the line's sources
    found = reserving.candidates(session, retailer_id, [order_line.item_id], now).get(order_line.item_id, [])
    options = [s for s in found if s.variant_id not in exclude and to_variant_id in (None, s.variant_id)]
    # A line splits across sources only where the retailer allows it (as routing does).
    have = (
        sum(s.available for s in options)
        if order.allow_split
        else max((s.available for s in options), default=0)
    )
    if have < quantity:
        where = (
            f"vendor variant {to_variant_id} has" if to_variant_id is not None else "the other sources have"
        )
        raise NoSource(f"{where} {have} units available; line {line_id} needs {quantity} moved")
    before = [_placement(po_line, po_line.live) for po_line in movable]
    after: list[dict] = []
    with session.begin_nested():  # one line that cannot move undoes the ones that did
        for po_line in movable:
            moved = reroute_line(
                session,
                po_line,
                quantity=po_line.live,
                release=True,
                now=now,
                answered=lambda po_line=po_line: answered(po_line),
                to_variant_id=to_variant_id,
                exclude=exclude,
            )
            if moved is None:
                raise NoSource(
                    f"line {line_id} could not move: another source lost its units or is busy; try again"
                )
            after.extend(_placement(new, new.ordered) for new in moved)
        order.updated_at = now
        audit.record(
            session,
            org_id=retailer_id,
            actor=actor,
            action=REROUTED,
            subject=f"order {order.reference} line {order_line.line_no} ({order_line.retailer_sku})",
            before={"sources": before},
            after={"sources": after},
            now=now,
        )
    return get_order(session, order_id, retailer_id=retailer_id)


def _placement(po_line: PurchaseOrderLine, quantity: int) -> dict:
    return {
        "purchase_order_id": po_line.po_id,
        "vendor_id": po_line.vendor_id,
        "vendor_variant_id": po_line.variant_id,
        "quantity": quantity,
    }


def cancel_by_hand(
    session: Session,
    *,
    retailer_id: int,
    order_id: int,
    lines: Sequence[LineQuantity] | None,
    reason: str,
    actor: audit.Actor,
    now: dt.datetime,
) -> Order:
    """Cancel unshipped units of order lines (all of them if none are given), as
    services.cancel_by_retailer, and write what each line had open before and after to the audit log.
    """
    was = {line.id: _open(line) for line in get_order(session, order_id, retailer_id=retailer_id).lines}
    order = cancel_by_retailer(
        session, retailer_id=retailer_id, order_id=order_id, lines=lines, reason=reason, now=now
    )
    changed = [line for line in order.lines if _open(line) != was[line.id]]
    audit.record(
        session,
        org_id=retailer_id,
        actor=actor,
        action=CANCELLED,
        subject=f"order {order.reference}",
        before={"open": {f"line {line.line_no} ({line.retailer_sku})": was[line.id] for line in changed}},
        after={
            "open": {f"line {line.line_no} ({line.retailer_sku})": _open(line) for line in changed},
            **({"reason": reason} if reason else {}),
        },
        now=now,
    )
    return order


def _open(line: OrderLine) -> int:
    return sum(po_line.unshipped for po_line in line.po_lines)
