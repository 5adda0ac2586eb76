"""The in-flight rule wired to the database: keep each position's `committed` exact (DESIGN §4).

`committed` of a variant = units of its live purchase-order lines that the position's current
snapshot does not reflect (network/stock/rules.py). It moves in three ways:

- an order reserves units (+q, a conditional update: network/orders/placement.py);
- a transition on one line (ack, shipment, cancel, reject) moves it by the change of that line's
  unreflected units, as a relative update under the position's row lock (`adjust_for_line`);
- a new snapshot recomputes it from all live lines (`recompute_committed`, called by feeds).

Every move is written to the stock ledger.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.orders.models import Order, PurchaseOrder, PurchaseOrderLine, Shipment, ShipmentLine
from network.stock.models import StockLedgerEntry, StockPosition, StockSnapshot
from network.stock.rules import (
    InFlightLine,
    committed_units,
    effective_as_of,
    reflected_for_good,
    unreflected_units,
)

CHUNK = 2000


@dataclass(frozen=True, slots=True)
class PositionState:
    variant_id: int
    basis: str
    as_of: dt.datetime | None  # effective: the row's own or the vendor's last full snapshot's
    committed: int


@functools.cache
def _position_query() -> sa.Select:
    return sa.select(
        StockPosition.variant_id,
        StockPosition.basis,
        StockPosition.as_of,
        StockPosition.committed,
        StockSnapshot.as_of.label("snapshot_as_of"),
    ).outerjoin(StockSnapshot, StockSnapshot.vendor_id == StockPosition.vendor_id)


def _state(row: sa.Row) -> PositionState:
    return PositionState(
        row.variant_id, row.basis, effective_as_of(row.as_of, row.snapshot_as_of), row.committed
    )


def lock_position(session: Session, variant_id: int) -> PositionState:
    """Lock one position (PostgreSQL) and return what the in-flight rule needs of it."""
    return _state(session.execute(_lock_query(is_postgres(session)), {"variant_id": variant_id}).one())


@functools.cache
def _lock_query(for_update: bool) -> sa.Select:
    query = _position_query().where(StockPosition.variant_id == sa.bindparam("variant_id"))
    return query.with_for_update(of=StockPosition) if for_update else query


def line_view(line: PurchaseOrderLine, shipments: Sequence[tuple[dt.datetime, int]] = ()) -> InFlightLine:
    return InFlightLine(quantity=line.live, acknowledged_at=line.acknowledged_at, shipments=tuple(shipments))


_SHIPMENTS_OF_LINES = (
    sa.select(ShipmentLine.po_line_id, Shipment.shipped_at, ShipmentLine.quantity)
    .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
    .where(ShipmentLine.po_line_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(Shipment.shipped_at, ShipmentLine.id)
)


def line_shipments(session: Session, line_ids: Iterable[int]) -> dict[int, list[tuple[dt.datetime, int]]]:
    """Return each line's shipments as (shipped_at, units), oldest first."""
    result: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    ids = sorted(set(line_ids))
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(_SHIPMENTS_OF_LINES, {"ids": ids[start : start + CHUNK]})
        for row in rows:
            result[row.po_line_id].append((row.shipped_at, row.quantity))
    return result


def unreflected(line: InFlightLine, position: PositionState) -> int:
    return unreflected_units(line, basis=position.basis, as_of=position.as_of)


def move_committed(
    session: Session, *, variant_id: int, delta: int, reason: str, now: dt.datetime, po_line_id: int | None
) -> None:
    """Add `delta` to a position's committed units (a relative update) and write the ledger entry."""
    if delta == 0:
        return
    after = session.execute(_MOVE_COMMITTED, {"variant": variant_id, "delta": delta, "at": now}).scalar_one()
    session.execute(
        _LEDGER_INSERT,
        {
            "variant_id": variant_id,
            "at": now,
            "reason": reason,
            "changes": {"committed": [after - delta, after]},
            "po_line_id": po_line_id,
        },
    )


_POSITIONS = StockPosition.__table__
# Statements on the tables, built once: they run for every line that moves.
_MOVE_COMMITTED = (
    _POSITIONS.update()
    .where(_POSITIONS.c.variant_id == sa.bindparam("variant"))
    .values(committed=_POSITIONS.c.committed + sa.bindparam("delta"), updated_at=sa.bindparam("at"))
    .returning(_POSITIONS.c.committed)
)
_LEDGER_INSERT = StockLedgerEntry.__table__.insert()


def settle_if_reflected(line: PurchaseOrderLine, view: InFlightLine, position: PositionState) -> None:
    """Mark a line that can never count again: nothing live, or reflected under any later snapshot."""
    if line.live == 0 or reflected_for_good(view, as_of=position.as_of):
        line.settled = True


def variants_in_flight(session: Session, vendor_id: int) -> list[int]:
    """Return the vendor's variants with live lines that a new snapshot may reflect differently."""
    return sorted(
        session.scalars(
            sa.select(PurchaseOrderLine.variant_id)
            .where(PurchaseOrderLine.vendor_id == vendor_id, PurchaseOrderLine.settled.is_(False))
            .distinct()
        )
    )


_POSITIONS_AMONG = _position_query().where(StockPosition.variant_id.in_(sa.bindparam("ids", expanding=True)))
_UNSETTLED_LINES_AMONG = sa.select(PurchaseOrderLine).where(
    PurchaseOrderLine.variant_id.in_(sa.bindparam("ids", expanding=True)),
    PurchaseOrderLine.settled.is_(False),
)


def recompute_committed(session: Session, variant_ids: Sequence[int], *, now: dt.datetime) -> list[int]:
    """Recompute `committed` of the given positions from their live lines; return those that moved.

    The caller has locked the positions (the feed pipeline does so in variant order). Lines that
    the snapshot now reflects for good are marked settled.
    """
    moved = []
    ids = sorted(set(variant_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        positions = {row.variant_id: _state(row) for row in session.execute(_POSITIONS_AMONG, {"ids": chunk})}
        lines = list(session.scalars(_UNSETTLED_LINES_AMONG, {"ids": chunk}))
        shipments = line_shipments(session, [line.id for line in lines])
        by_variant: dict[int, list[InFlightLine]] = defaultdict(list)
        for line in lines:
            view = line_view(line, shipments.get(line.id, ()))
            by_variant[line.variant_id].append(view)
            settle_if_reflected(line, view, positions[line.variant_id])
        for variant_id in chunk:
            position = positions.get(variant_id)
            if position is None:
                continue
            exact = committed_units(
                by_variant.get(variant_id, ()), basis=position.basis, as_of=position.as_of
            )
            if exact != position.committed:
                move_committed(
                    session,
                    variant_id=variant_id,
                    delta=exact - position.committed,
                    reason="recompute",
                    now=now,
                    po_line_id=None,
                )
                moved.append(variant_id)
    session.flush()
    return moved


@dataclass(frozen=True, slots=True)
class CommittedLine:
    """A live line's units counted in its variant's `committed`, and whose order it is."""

    variant_id: int
    purchase_order_id: int
    line_id: int
    retailer_id: int
    order_id: int
    order_reference: str
    units: int


_LIVE_LINES_AMONG = (
    sa.select(PurchaseOrderLine, PurchaseOrder.retailer_id, PurchaseOrder.order_id, Order.reference)
    .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
    .join(Order, Order.id == PurchaseOrder.order_id)
    .where(
        PurchaseOrderLine.variant_id.in_(sa.bindparam("ids", expanding=True)),
        PurchaseOrderLine.settled.is_(False),
    )
    .order_by(PurchaseOrderLine.id)
)


def committed_lines(session: Session, variant_ids: Sequence[int]) -> dict[int, list[CommittedLine]]:
    """The lines behind each position's `committed`, by variant: the in-flight rule of
    `recompute_committed`, line by line (a line the snapshot reflects counts no unit and is left out).
    """
    ids = sorted(set(variant_ids))
    result: dict[int, list[CommittedLine]] = defaultdict(list)
    if not ids:
        return result
    positions = {row.variant_id: _state(row) for row in session.execute(_POSITIONS_AMONG, {"ids": ids})}
    rows = session.execute(_LIVE_LINES_AMONG, {"ids": ids}).all()
    shipments = line_shipments(session, [row[0].id for row in rows])
    for line, retailer_id, order_id, reference in rows:
        position = positions.get(line.variant_id)
        if position is None:
            continue
        units = unreflected(line_view(line, shipments.get(line.id, ())), position)
        if units:
            result[line.variant_id].append(
                CommittedLine(line.variant_id, line.po_id, line.id, retailer_id, order_id, reference, units)
            )
    return result
