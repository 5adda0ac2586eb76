"""Pure flag rules (DESIGN §9): which lines a snapshot leaves short, which deadlines passed, what clears a flag.

No database, no clock: every function takes the facts and `now`.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from network.availability.compute import is_stale
from network.flags.models import ACK_OVERDUE, LIKELY_SHORT, REFUSALS, SHIP_OVERDUE, STALE_FEED
from network.orders.deadlines import LineClock, ack_due_at, ship_due_at


@dataclass(frozen=True, slots=True)
class LineNeed:
    """What one live line of a variant asks of the vendor's count.

    `counted`: units the count does not yet account for (the in-flight rule's unreflected units);
    `unshipped`: of those, the units still to ship (the only ones that can still go short).
    """

    line_id: int
    counted: int
    unshipped: int


def allot_shortfall(lines_newest_first: Sequence[LineNeed], sellable: int) -> dict[int, int]:
    """Return {line_id: units short} for the lines a count of `sellable` units cannot cover.

    The shortfall is what the lines need beyond the count; it is allotted to the newest lines
    first (the oldest orders keep their units, as they would have on a first-come basis), and
    only to units not yet shipped: shipped units left the shelf and cannot go short.
    """
    short = sum(line.counted for line in lines_newest_first) - max(0, sellable)
    result: dict[int, int] = {}
    for line in lines_newest_first:
        if short <= 0:
            break
        take = min(short, max(0, min(line.unshipped, line.counted)))
        if take:
            result[line.line_id] = take
            short -= take
    return result


def due_kinds(line: LineClock, now: dt.datetime) -> frozenset[str]:
    """Return the clock-driven flags (ack_overdue, ship_overdue, stale_feed) the line deserves at `now`."""
    kinds = set()
    if not line.acknowledged and now > ack_due_at(line):
        kinds.add(ACK_OVERDUE)
    if now > ship_due_at(line):
        kinds.add(SHIP_OVERDUE)
    if is_stale(line.as_of, line.stale_after, now):
        kinds.add(STALE_FEED)
    return frozenset(kinds)


@dataclass(frozen=True, slots=True)
class LineFacts:
    """Where a purchase-order line stands now."""

    status: str
    unshipped: int
    acknowledged: bool


CLOCK_KINDS = (ACK_OVERDUE, SHIP_OVERDUE, STALE_FEED)
STOCK_RESTORED = "stock_restored"
DEAD = ("cancelled", "rejected")


def clearing(kind: str, facts: LineFacts, due: frozenset[str] | None = None) -> str | None:
    """Return why a flag of `kind` clears for a line in this state, or None if it stands.

    `due` is what `due_kinds` says of the line now (None when the clock was not consulted).
    A refusal (vendor_rejected / vendor_cancelled) is a fact, not a state: only a reroute or
    the retailer clears it. A shortfall clears when a count covers the line again, which
    `allot_shortfall` decides, or when nothing is left to ship; a likely_short one when the
    vendor acknowledges the line, or its probability falls back (network/flags/likely_short.py).
    """
    if kind in REFUSALS:
        return None
    if facts.status in DEAD:
        return facts.status
    if facts.unshipped == 0:
        return "shipped"
    if kind in (ACK_OVERDUE, LIKELY_SHORT) and facts.acknowledged:
        return "acknowledged"  # a likely_short line: the vendor imported it and says it has the units
    if due is not None and kind in CLOCK_KINDS and kind not in due:
        return "feed_fresh" if kind == STALE_FEED else "deadline_moved"
    return None


def lead_time(raised_at: Iterable[dt.datetime], cancelled_at: dt.datetime) -> int | None:
    """Return the seconds from the earliest warning to the cancellation, or None if there was none."""
    earlier = [moment for moment in raised_at if moment <= cancelled_at]
    if not earlier:
        return None
    return int((cancelled_at - min(earlier)).total_seconds())


@dataclass(frozen=True, slots=True)
class FlagStats:
    cancellations: int
    flagged_first: int
    share_flagged_first: float | None
    median_lead_time_seconds: float | None


def flag_stats(lead_times: Sequence[int | None]) -> FlagStats:
    """Summarize cancellations, each given as its lead time (None: no flag came before it)."""
    flagged = [lead for lead in lead_times if lead is not None]
    return FlagStats(
        cancellations=len(lead_times),
        flagged_first=len(flagged),
        share_flagged_first=len(flagged) / len(lead_times) if lead_times else None,
        median_lead_time_seconds=statistics.median(flagged) if flagged else None,
    )
