"""Guards against broken exports (DESIGN §6): decide whether a full feed is held for the vendor.

A vendor's export job that crashes half-way, or a query that lost a join, produces a file
that parses fine and would zero most of the catalog. Such a feed is held, not applied, until
the vendor confirms it. Pure: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from network.feeds.models import HOLD_MASS_ZERO, HOLD_SHRUNK
from network.stock.snapshot import SnapshotPlan

DEFAULT_HOLD_SHARE = 0.5


@dataclass(frozen=True)
class Hold:
    """Why a feed is held: a HOLD_* code and the sentence the vendor reads."""

    reason: str
    message: str


def hold_for(
    plan: SnapshotPlan,
    *,
    full: bool,
    rows_seen: int,
    last_good_rows_seen: int | None,
    share: float = DEFAULT_HOLD_SHARE,
) -> Hold | None:
    """Return why a feed must be held, or None when it may be applied.

    A full feed is held when it would take more than `share` of the vendor's SKUs that have
    stock from positive to zero, or when it has fewer than half the records of the last good
    full feed. A delta feed only touches the rows it carries and is never held.
    """
    if not full:
        return None
    if plan.positive_before and plan.zeroed > share * plan.positive_before:
        return Hold(
            HOLD_MASS_ZERO,
            f"held: the feed would take {plan.zeroed} of the {plan.positive_before} SKUs in stock "
            f"({plan.zeroed / plan.positive_before:.0%}) to zero, more than the {share:.0%} limit; "
            "apply it if that is right, or discard it",
        )
    if last_good_rows_seen and rows_seen * 2 < last_good_rows_seen:
        return Hold(
            HOLD_SHRUNK,
            f"held: the feed has {rows_seen} records, less than half of the {last_good_rows_seen} "
            "of the last good full feed; apply it if that is right, or discard it",
        )
    return None
