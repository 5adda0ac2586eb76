"""What the hub's own orders took from a vendor's counts, and how long the vendor takes to import
a purchase order: the inputs of the depletion model (network/availability/learning.py) that only
the orders area knows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.orders.models import PurchaseOrder, PurchaseOrderLine, Shipment, ShipmentLine
from network.stock.models import ON_HAND

CHUNK = 2000
# The import delay is the mean over the lines acknowledged in this window, once there are enough.
DELAY_WINDOW = dt.timedelta(days=7)
DELAY_MIN_LINES = 5


def units_reflected(
    session: Session, spans: Mapping[int, tuple[dt.datetime, dt.datetime]], *, basis: str
) -> dict[int, int]:
    """The hub's units a vendor's count accounted for between two counts, by variant.

    `spans` maps a variant to (since, until]: the moments of its two counts. Basis `available`:
    the live units of its lines acknowledged in the span (the in-flight rule's
    network/stock/rules.py: a count excludes a line once acknowledged); `on_hand`: units shipped in it.
    """
    result: dict[int, int] = defaultdict(int)
    ids = sorted(spans)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        earliest = min(spans[v][0] for v in chunk)
        if basis == ON_HAND:
            rows = session.execute(
                sa.select(PurchaseOrderLine.variant_id, Shipment.shipped_at, ShipmentLine.quantity)
                .join(ShipmentLine, ShipmentLine.po_line_id == PurchaseOrderLine.id)
                .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
                .where(PurchaseOrderLine.variant_id.in_(chunk), Shipment.shipped_at > earliest)
            )
        else:
            live = PurchaseOrderLine.ordered - PurchaseOrderLine.cancelled - PurchaseOrderLine.rejected
            rows = session.execute(
                sa.select(PurchaseOrderLine.variant_id, PurchaseOrderLine.acknowledged_at, live).where(
                    PurchaseOrderLine.variant_id.in_(chunk), PurchaseOrderLine.acknowledged_at > earliest
                )
            )
        for variant_id, at, units in rows:
            since, until = spans[variant_id]
            if since < at <= until:
                result[variant_id] += units
    return dict(result)


def import_delay_minutes(session: Session, vendor_id: int, *, now: dt.datetime) -> float | None:
    """The mean minutes between a purchase order and the vendor's acknowledgement of its lines, over
    the lines acknowledged in the last week; None while there are too few to tell."""
    created = sa.select(PurchaseOrder.created_at).where(PurchaseOrder.id == PurchaseOrderLine.po_id)
    rows = session.execute(
        sa.select(PurchaseOrderLine.acknowledged_at, created.scalar_subquery()).where(
            PurchaseOrderLine.vendor_id == vendor_id,
            PurchaseOrderLine.acknowledged_at > now - DELAY_WINDOW,
        )
    ).all()
    if len(rows) < DELAY_MIN_LINES:
        return None
    return sum(max(0.0, (acked - made).total_seconds()) for acked, made in rows) / 60 / len(rows)
