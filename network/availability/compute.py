"""The availability formula (DESIGN §5): the one place that says what a retailer may sell."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceState:
    """Everything the formula needs about one vendor variant seen through one connection."""

    quantity: int
    committed: int
    safety_buffer: int
    connection_active: bool
    variant_active: bool
    as_of: dt.datetime | None
    stale_after: dt.timedelta
    on_hold: bool = False
    # Predictive model only (network/availability/predictive.py): the units outside sales will
    # probably have taken by the time the vendor imports an order; 0 under the fixed model.
    predicted_depletion: int = 0


def is_stale(as_of: dt.datetime | None, stale_after: dt.timedelta, now: dt.datetime) -> bool:
    """A snapshot never received, or older than the connection allows, no longer counts."""
    return as_of is None or now - as_of > stale_after


def source_available(source: SourceState, now: dt.datetime) -> int:
    """Return the units a retailer may sell from one source."""
    if not (source.connection_active and source.variant_active) or source.on_hold:
        return 0
    if is_stale(source.as_of, source.stale_after, now):
        return 0
    return max(0, source.quantity - source.committed - source.safety_buffer - source.predicted_depletion)


def item_available(sources: Iterable[SourceState], now: dt.datetime) -> int:
    """Return a retailer item's availability: the shared pool summed over its sources."""
    return sum(source_available(source, now) for source in sources)
