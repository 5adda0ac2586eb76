"""Dry run of a feed: parse a sample with the feed's settings and show what it would change.

Nothing is written: no run, no stock, no event. The vendor sees the counts, the first changes
with their before and after, the row errors, and whether the guard would hold the file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from network.feeds import configs, guards
from network.feeds import models as m
from network.feeds.parsing import parse_feed
from network.feeds.services import last_good_full_size
from network.stock import services as stock
from network.stock.snapshot import plan_snapshot

SHOWN = 50  # changes and errors listed; the counts cover the whole file


@dataclass(frozen=True)
class PreviewChange:
    sku: str
    before: dict
    after: dict


@dataclass(frozen=True)
class Preview:
    rows_seen: int
    rows_valid: int
    rows_rejected: int
    would_change: int
    would_zero: int
    positive_before: int
    held: bool
    hold_reason: str | None
    message: str | None
    as_of: dt.datetime
    changes: list[PreviewChange]
    errors: list[dict]


def preview_feed(
    session: Session, feed: m.Feed, data: bytes, *, now: dt.datetime, hold_share: float
) -> Preview:
    """Show what applying `data` through the feed would do. Raises InvalidFeed for an unreadable file."""
    parsed = parse_feed(data, configs.feed_format(feed))
    full = feed.mode == "full"
    as_of = parsed.as_of or now
    positions = stock.current_positions(session, feed.vendor_id)
    plan = plan_snapshot(positions, parsed.rows, full=full, basis=feed.basis, as_of=as_of)
    hold = guards.hold_for(
        plan,
        full=full,
        rows_seen=parsed.rows_seen,
        last_good_rows_seen=last_good_full_size(session, vendor_id=feed.vendor_id, feed_id=feed.id),
        share=hold_share,
    )
    sku_of = {pos.variant_id: sku for sku, pos in positions.items()}
    changed = [(variant_id, diff) for variant_id, _, diff in plan.changes if diff]
    changed.sort(key=lambda change: sku_of[change[0]])
    errors = sorted([*parsed.errors, *plan.errors], key=lambda e: e.line)
    return Preview(
        rows_seen=parsed.rows_seen,
        rows_valid=plan.applied,
        rows_rejected=len(errors),
        would_change=len(changed),
        would_zero=plan.zeroed,
        positive_before=plan.positive_before,
        held=hold is not None,
        hold_reason=hold.reason if hold else None,
        message=hold.message if hold else None,
        as_of=as_of,
        changes=[
            PreviewChange(
                sku=sku_of[variant_id],
                before={name: values[0] for name, values in diff.items()},
                after={name: values[1] for name, values in diff.items()},
            )
            for variant_id, diff in changed[:SHOWN]
        ],
        errors=[{"line": e.line, "sku": e.sku, "reason": e.reason} for e in errors[:SHOWN]],
    )
