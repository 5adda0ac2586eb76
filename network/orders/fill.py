"""A vendor's fill rate: the one rule the scorecards show (network/console_views/scorecards.py) and
routing by risk weighs sources with (network/orders/risk.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.orders.models import PurchaseOrderLine, PurchaseOrderTransition

# A vendor's refusal of units: cancelling them, or rejecting them (what it did not acknowledge).
VENDOR_REFUSALS = ("cancel", "reject")
# Routing reads a vendor's last lines settled (shipped or refused): recent enough to follow a
# vendor that got worse, many enough that one refusal is not the whole story.
RECENT_LINES = 200
# Until a vendor has a record, it counts as having shipped this many units of as many: one
# refusal of a new vendor's first line does not make it a vendor that never ships.
PRIOR_UNITS = 20


def fill_rate(shipped: int, ordered: int) -> float | None:
    """Units shipped / units ordered; None with nothing ordered (nothing to measure yet)."""
    return shipped / ordered if ordered else None


def recent_fill_rates(session: Session, vendor_ids: Sequence[int]) -> dict[int, float]:
    """Each vendor's fill rate over its last `RECENT_LINES` settled lines (any retailer's), counting
    the units it shipped against those it shipped or refused itself: units the retailer or the hub
    cancelled say nothing of the vendor. One statement for all the vendors."""
    ids = sorted(set(vendor_ids))
    if not ids:
        return {}
    line = PurchaseOrderLine
    refused = (
        sa.select(sa.func.coalesce(sa.func.sum(PurchaseOrderTransition.quantity), 0))
        .where(
            PurchaseOrderTransition.po_id == line.po_id,
            PurchaseOrderTransition.po_line_id == line.id,
            PurchaseOrderTransition.action.in_(VENDOR_REFUSALS),
            PurchaseOrderTransition.actor_org_id == line.vendor_id,
        )
        .correlate(line)
        .scalar_subquery()
    )
    parts = [
        sa.select(line.vendor_id, line.shipped, refused.label("refused"))
        .where(line.vendor_id == vendor_id, line.settled.is_(True))
        .order_by(line.id.desc())
        .limit(RECENT_LINES)
        .subquery()
        for vendor_id in ids
    ]
    union = sa.union_all(*(sa.select(part) for part in parts)).subquery()
    totals = {
        vendor_id: (int(shipped or 0), int(refused_units or 0))
        for vendor_id, shipped, refused_units in session.execute(
            sa.select(union.c.vendor_id, sa.func.sum(union.c.shipped), sa.func.sum(union.c.refused)).group_by(
                union.c.vendor_id
            )
        )
    }
    rates = {}
    for vendor_id in ids:
        shipped, refused_units = totals.get(vendor_id, (0, 0))
        rates[vendor_id] = fill_rate(shipped + PRIOR_UNITS, shipped + refused_units + PRIOR_UNITS) or 0.0
    return rates
