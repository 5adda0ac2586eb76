"""The router (DESIGN §7): which sources fill an order line. Pure: no database, no clock.

Sources are tried by the connection's `routing_priority` (lower first), then most available
units, then lowest cost, then the item's own source priority; a line is split across sources
only when the retailer allows splits.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    """One source a line may draw on, as the availability read saw it."""

    variant_id: int
    vendor_id: int
    routing_priority: int
    item_priority: int
    available: int
    cost: decimal.Decimal | None


@dataclass(frozen=True, slots=True)
class Allocation:
    variant_id: int
    vendor_id: int
    quantity: int
    cost: decimal.Decimal | None


def _order_key(candidate: Candidate, available: int) -> tuple:
    cost = candidate.cost if candidate.cost is not None else decimal.Decimal("Infinity")
    return (candidate.routing_priority, -available, cost, candidate.item_priority, candidate.variant_id)


def allocate_line(
    quantity: int,
    candidates: Sequence[Candidate],
    *,
    allow_split: bool,
    taken: Mapping[int, int] | None = None,
) -> list[Allocation]:
    """Return how to fill `quantity` units (possibly fewer, if stock is short).

    `taken` holds units of each variant already given to earlier lines of the same order: they
    are not available to this line.
    """
    taken = taken or {}
    free = {c.variant_id: max(0, c.available - taken.get(c.variant_id, 0)) for c in candidates}
    ranked = sorted(
        (c for c in candidates if free[c.variant_id] > 0), key=lambda c: _order_key(c, free[c.variant_id])
    )
    if not ranked or quantity <= 0:
        return []
    if not allow_split:
        # One source for the whole line: the first that can fill it, else the best one partly.
        whole = next((c for c in ranked if free[c.variant_id] >= quantity), ranked[0])
        return [
            Allocation(whole.variant_id, whole.vendor_id, min(quantity, free[whole.variant_id]), whole.cost)
        ]
    allocations = []
    remaining = quantity
    for candidate in ranked:
        units = min(remaining, free[candidate.variant_id])
        allocations.append(Allocation(candidate.variant_id, candidate.vendor_id, units, candidate.cost))
        remaining -= units
        if remaining == 0:
            break
    return allocations


@dataclass(frozen=True, slots=True)
class LineRequest:
    quantity: int
    candidates: Sequence[Candidate]


def allocate_order(lines: Sequence[LineRequest], *, allow_split: bool) -> list[list[Allocation]]:
    """Allocate every line in turn; lines drawing on one variant share its units."""
    taken: MutableMapping[int, int] = {}
    result = []
    for line in lines:
        allocations = allocate_line(line.quantity, line.candidates, allow_split=allow_split, taken=taken)
        for allocation in allocations:
            taken[allocation.variant_id] = taken.get(allocation.variant_id, 0) + allocation.quantity
        result.append(allocations)
    return result
