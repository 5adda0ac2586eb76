"""The router (DESIGN §7): which sources fill an order line. Pure: no database, no clock.

Sources are tried by the connection's `routing_priority` (lower first), then (a retailer on the
predictive model only: candidates with a `risk`) the likelier to ship, then most available units,
then lowest cost, then the item's own source priority; a line is split across sources only when
the retailer allows splits.

Likelier to ship (issue 18): the probability that the source still has the line's units when the
vendor imports the order (its outside sales over the horizon leave them: network/availability/
depletion.py), times the vendor's fill rate (network/orders/fill.py). A fresh count (short
horizon) and headroom (free units beyond the line's) enter through the probability.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from network.availability.depletion import Estimate, still_there

# Probabilities this close are a tie (today's order decides): the estimates are not finer.
LIKELIHOOD_DECIMALS = 3


@dataclass(frozen=True, slots=True)
class ShipRisk:
    """What routing by risk knows of a source: its variant's outside-sales estimate (None: nothing
    learned yet), the horizon until the vendor imports an order taken now, the vendor's fill rate,
    and the safety buffer held back from the free units (outside sales may take it first)."""

    estimate: Estimate | None
    horizon_minutes: float
    fill_rate: float
    buffer: int = 0


def ship_probability(risk: ShipRisk, *, free: int, quantity: int) -> float:
    """The probability the source ships `quantity` of its `free` units: the vendor still has them
    when it imports the order, and fills as it usually does."""
    return risk.fill_rate * still_there(risk.estimate, risk.horizon_minutes, free + risk.buffer - quantity)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One source a line may draw on, as the availability read saw it."""

    variant_id: int
    vendor_id: int
    routing_priority: int
    item_priority: int
    available: int
    cost: decimal.Decimal | None
    # Routing by risk (a retailer on the predictive model): None routes as the fixed model does.
    risk: ShipRisk | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    variant_id: int
    vendor_id: int
    quantity: int
    cost: decimal.Decimal | None


def _order_key(candidate: Candidate, available: int, quantity: int) -> tuple:
    cost = candidate.cost if candidate.cost is not None else decimal.Decimal("Infinity")
    likely = 0.0
    if candidate.risk is not None:
        units = min(quantity, available)
        likely = round(ship_probability(candidate.risk, free=available, quantity=units), LIKELIHOOD_DECIMALS)
    return (
        candidate.routing_priority,
        -likely,
        -available,
        cost,
        candidate.item_priority,
        candidate.variant_id,
    )


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
        (c for c in candidates if free[c.variant_id] > 0),
        key=lambda c: _order_key(c, free[c.variant_id], quantity),
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
