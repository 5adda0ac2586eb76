"""Purchase-order line states (DESIGN §7), derived from a line's counters. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from network.orders.models import ACKNOWLEDGED, CANCELLED, OPEN, PARTIALLY_SHIPPED, REJECTED, SHIPPED

DEAD = (CANCELLED, REJECTED)


def line_state(
    *, ordered: int, cancelled: int, rejected: int, shipped: int, acknowledged_at: dt.datetime | None
) -> str:
    """Return the state a line's counters put it in."""
    live = ordered - cancelled - rejected
    if live <= 0:
        return CANCELLED if cancelled else REJECTED
    if shipped >= live:
        return SHIPPED
    if shipped > 0:
        return PARTIALLY_SHIPPED
    if acknowledged_at is not None:
        return ACKNOWLEDGED
    return OPEN


def po_state(line_states: Iterable[str]) -> str:
    """Return a purchase order's state from its lines' states."""
    states = list(line_states)
    live = [s for s in states if s not in DEAD]
    if not live:
        return CANCELLED if CANCELLED in states else REJECTED
    if all(s == SHIPPED for s in live):
        return SHIPPED
    if any(s in (SHIPPED, PARTIALLY_SHIPPED) for s in live):
        return PARTIALLY_SHIPPED
    if all(s == ACKNOWLEDGED for s in live):
        return ACKNOWLEDGED
    return OPEN
