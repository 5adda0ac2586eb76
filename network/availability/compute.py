"""The availability formula (DESIGN §5): the one place that says what a retailer may sell.

`source_terms` is the formula with its working shown: what a source counts, and each reason it
counts zero whatever its count. Published figures and their explanation
(GET /api/v1/availability/{sku}/explain, the console's Availability page) both read it, so the two
cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

# Why a source counts zero whatever its count, in the order a reader would fix them.
CONNECTION_INACTIVE = "connection_inactive"  # paused or ended (or no connection at all)
VARIANT_INACTIVE = "variant_inactive"  # the vendor stopped offering the variant
ON_HOLD = "on_hold"  # held at zero after the vendor refused a line it had reported stock for
STALE = "stale"  # never counted, or the last count is older than the connection allows
EXCLUSIONS = (CONNECTION_INACTIVE, VARIANT_INACTIVE, ON_HOLD, STALE)


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


class SourceTerms(NamedTuple):
    """The formula's working for one source (a tuple: built for every source of every figure
    published, where a frozen dataclass cost three times the formula itself)."""

    # Count less committed units less the safety buffer; may be negative (then the source is 0).
    net: int
    stale: bool
    excluded_by: tuple[str, ...]  # some of EXCLUSIONS: any one makes the source count zero
    available: int


def is_stale(as_of: dt.datetime | None, stale_after: dt.timedelta, now: dt.datetime) -> bool:
    """A snapshot never received, or older than the connection allows, no longer counts."""
    return as_of is None or now - as_of > stale_after


def source_terms(source: SourceState, now: dt.datetime) -> SourceTerms:
    """Return what one source offers and why: every exclusion that applies, not only the first."""
    stale = is_stale(source.as_of, source.stale_after, now)
    net = source.quantity - source.committed - source.safety_buffer
    if source.connection_active and source.variant_active and not (source.on_hold or stale):
        return SourceTerms(net, False, (), max(0, net))  # the common case, without building a list
    excluded = [
        reason
        for reason, applies in (
            (CONNECTION_INACTIVE, not source.connection_active),
            (VARIANT_INACTIVE, not source.variant_active),
            (ON_HOLD, source.on_hold),
            (STALE, stale),
        )
        if applies
    ]
    return SourceTerms(net, stale, tuple(excluded), 0)


def source_available(source: SourceState, now: dt.datetime) -> int:
    """Return the units a retailer may sell from one source."""
    return source_terms(source, now).available


def item_available(sources: Iterable[SourceState], now: dt.datetime) -> int:
    """Return a retailer item's availability: the shared pool summed over its sources."""
    return sum(source_available(source, now) for source in sources)
