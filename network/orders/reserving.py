"""Sellable sources and reservations, shared by the order intake (`placement`) and rerouting
(`reroute`): a rerouted unit is read, reserved and recorded exactly as an ordered one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.compute import source_available
from network.availability.services import held_variants, source_state
from network.catalog.models import ItemSource, VendorVariant
from network.db import is_postgres
from network.orders.models import OPEN, OrderLine, PurchaseOrderLine, PurchaseOrderTransition
from network.orders.routing import Allocation, Candidate
from network.partners.models import Connection
from network.stock.models import StockLedgerEntry, StockPosition, StockSnapshot


class Lost(Exception):
    """A source no longer had the units the plan counted on."""


@dataclass(frozen=True, slots=True)
class Source(Candidate):
    buffer: int = 0
    as_of: dt.datetime | None = None  # the count's moment (routing by risk: its age)


SOURCE_COLUMNS = (
    ItemSource.variant_id,
    ItemSource.priority,
    VendorVariant.vendor_id,
    VendorVariant.active,
    VendorVariant.cost,
    StockPosition.quantity,
    StockPosition.committed,
    StockPosition.as_of,
    StockSnapshot.as_of.label("snapshot_as_of"),
    Connection.status,
    Connection.safety_buffer,
    Connection.stale_after_minutes,
    Connection.routing_priority,
)


def add_source(result: dict[int, list[Source]], row: sa.Row, now: dt.datetime) -> None:
    """Add a joined source row to its item's candidates if the formula finds units in it."""
    state = source_state(row)
    available = source_available(state, now)
    if available > 0:
        result[row.item_id].append(
            Source(
                variant_id=row.variant_id,
                vendor_id=row.vendor_id,
                routing_priority=row.routing_priority,
                item_priority=row.priority,
                available=available,
                cost=row.cost,
                buffer=row.safety_buffer,
                as_of=state.as_of,
            )
        )


def candidates(
    session: Session, retailer_id: int, item_ids: Sequence[int], now: dt.datetime
) -> dict[int, list[Source]]:
    """Return each item's sellable sources, read through the availability formula (holds included)."""
    held = held_variants(now)
    rows = session.execute(
        sa.select(ItemSource.item_id, *SOURCE_COLUMNS, held.c.variant_id.is_not(None).label("on_hold"))
        .join(VendorVariant, VendorVariant.id == ItemSource.variant_id)
        .join(StockPosition, StockPosition.variant_id == ItemSource.variant_id)
        .outerjoin(StockSnapshot, StockSnapshot.vendor_id == VendorVariant.vendor_id)
        .outerjoin(held, held.c.variant_id == ItemSource.variant_id)
        .join(
            Connection,
            sa.and_(Connection.retailer_id == retailer_id, Connection.vendor_id == VendorVariant.vendor_id),
        )
        .where(ItemSource.item_id.in_(item_ids))
    )
    result: dict[int, list[Source]] = defaultdict(list)
    for row in rows:
        add_source(result, row, now)
    return result


def reserve(session: Session, variant_id: int, quantity: int, buffer: int, now: dt.datetime) -> int:
    """Add `quantity` to committed if the units are free; return committed after. Raises Lost."""
    after = session.execute(
        _RESERVE, {"variant": variant_id, "units": quantity, "buffer": buffer, "at": now}
    ).scalar()
    if after is None:
        raise Lost(variant_id)
    return after


_POSITIONS = StockPosition.__table__
# Built once: it runs for every order.
_RESERVE = (
    _POSITIONS.update()
    .where(
        _POSITIONS.c.variant_id == sa.bindparam("variant"),
        _POSITIONS.c.quantity - _POSITIONS.c.committed - sa.bindparam("buffer") >= sa.bindparam("units"),
    )
    .values(committed=_POSITIONS.c.committed + sa.bindparam("units"), updated_at=sa.bindparam("at"))
    .returning(_POSITIONS.c.committed)
)


def new_po_line(order_line: OrderLine, allocation: Allocation, *, now: dt.datetime) -> PurchaseOrderLine:
    """A purchase-order line for the units an allocation gives an order line, open."""
    return PurchaseOrderLine(
        order_line=order_line,
        variant_id=allocation.variant_id,
        vendor_id=allocation.vendor_id,
        unit_cost=allocation.cost,
        ordered=allocation.quantity,
        status=OPEN,
        updated_at=now,
    )


def write_history(
    session: Session,
    po_lines: list[PurchaseOrderLine],
    committed_after: dict[int, int],
    *,
    retailer_id: int,
    now: dt.datetime,
) -> None:
    if not po_lines:  # an order kept with no unit reserved (placement's keep_unfilled)
        return
    ledger, history = history_rows(po_lines, committed_after, retailer_id=retailer_id, now=now)
    if is_postgres(session):  # both tables in one statement: one round trip
        ledger_rows = sa.insert(StockLedgerEntry).values(ledger).cte("ledger_rows")
        session.execute(sa.insert(PurchaseOrderTransition).values(history).add_cte(ledger_rows))
        return
    session.execute(_LEDGER_INSERT, ledger)
    session.execute(_TRANSITION_INSERT, history)


def history_rows(
    po_lines: Sequence[PurchaseOrderLine],
    committed_after: dict[int, int],
    *,
    retailer_id: int,
    now: dt.datetime,
) -> tuple[list[dict], list[dict]]:
    """The stock-ledger and transition rows of new purchase-order lines, in the lines' order:
    each reservation's `committed` before and after, walked back from each variant's final figure."""
    running = dict(committed_after)
    ledger, history = [], []
    for po_line in reversed(po_lines):  # walk back from the final figure of each variant
        after = running[po_line.variant_id]
        running[po_line.variant_id] = after - po_line.ordered
        ledger.append(
            {
                "variant_id": po_line.variant_id,
                "at": now,
                "reason": "reserve",
                "changes": {"committed": [after - po_line.ordered, after]},
                "po_line_id": po_line.id,
            }
        )
        history.append(
            {
                "po_id": po_line.po_id,
                "po_line_id": po_line.id,
                "at": now,
                "actor": "org",
                "actor_org_id": retailer_id,
                "action": "create",
                "from_state": "",
                "to_state": OPEN,
                "quantity": po_line.ordered,
                "reason": "",
            }
        )
    return ledger[::-1], history[::-1]


_LEDGER_INSERT = StockLedgerEntry.__table__.insert()
_TRANSITION_INSERT = PurchaseOrderTransition.__table__.insert()
