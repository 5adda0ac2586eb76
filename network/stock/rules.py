"""Pure rules about a vendor's snapshot: when it was true, and which hub orders it already reflects.

A vendor's count is a snapshot taken at `as_of`. A purchase-order line is *reflected* in it
when the vendor's count already excludes the line's units:

- basis `available`: the line was acknowledged at or before `as_of`;
- basis `on_hand`: its units were shipped at or before `as_of` (unit by unit, for partial shipments).

`committed` is the number of live units the snapshot does not reflect yet; they are subtracted
from the vendor's count so that neither a late feed nor a fast one promises a unit twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from network.stock.models import AVAILABLE, BASES, ON_HAND


@dataclass(frozen=True, slots=True)
class InFlightLine:
    """A live purchase-order line as the in-flight rule sees it."""

    quantity: int  # live units: ordered less cancelled and rejected (shipped units included)
    acknowledged_at: dt.datetime | None = None
    shipments: tuple[tuple[dt.datetime, int], ...] = field(default=())


def effective_as_of(row_as_of: dt.datetime | None, snapshot_as_of: dt.datetime | None) -> dt.datetime | None:
    """Return when a position's figures were last confirmed: by its own row or by a later full feed."""
    if row_as_of is None:
        return snapshot_as_of
    if snapshot_as_of is None:
        return row_as_of
    return max(row_as_of, snapshot_as_of)


def unreflected_units(line: InFlightLine, *, basis: str, as_of: dt.datetime | None) -> int:
    """Return how many of the line's units the snapshot taken at `as_of` does not yet account for."""
    if line.quantity <= 0:
        return 0
    if as_of is None:
        return line.quantity
    if basis == AVAILABLE:
        reflected = line.acknowledged_at is not None and line.acknowledged_at <= as_of
        return 0 if reflected else line.quantity
    if basis == ON_HAND:
        shipped_before = sum(qty for at, qty in line.shipments if at <= as_of)
        return max(0, line.quantity - shipped_before)
    raise ValueError(f"unknown basis {basis!r}")


def committed_units(lines: Iterable[InFlightLine], *, basis: str, as_of: dt.datetime | None) -> int:
    """Return the units of live lines that the snapshot does not reflect."""
    return sum(unreflected_units(line, basis=basis, as_of=as_of) for line in lines)


def reflected_for_good(line: InFlightLine, *, as_of: dt.datetime | None) -> bool:
    """Tell whether no later snapshot can count the line again, whatever its basis.

    A position's as-of only moves forward, but any feed may change its basis: a line that an
    `available` count reflects (acknowledged) counts again under a later `on_hand` count taken
    before the shipment (the units still on the shelf). So only a line reflected under every basis
    (all units shipped at or before `as_of`) is done with.
    """
    return all(unreflected_units(line, basis=basis, as_of=as_of) == 0 for basis in BASES)
