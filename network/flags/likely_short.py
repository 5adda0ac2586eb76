"""Flags by forecast (issue 18): `likely_short` on a line whose vendor has probably sold its units.

For a retailer on the predictive availability model, an open purchase-order line the vendor has not
acknowledged yet is short if the vendor's outside sales since its last count exceed the line's
headroom: the count less the hub's units it does not reflect yet, plus the units of the variant's
newer unacknowledged lines (a shortfall takes the newest lines first, as `allot_shortfall` has it).
Outside sales over the horizon (the count's age up to the vendor's import of the order, or now if
later) are negative binomial (network/availability/depletion.py), so the probability is
P(D > headroom) = 1 - `still_there`.

`check` raises the flag (its `detail`: the probability and its inputs) when the probability reaches
`RAISE_AT`, updates its figures while it stands, and resolves it when the line is acknowledged,
shipped or cancelled (`clearing`), moved (the reroute resolves it), or the probability falls below
`CLEAR_BELOW`. It runs with the hourly evaluation and after each feed applied, as shortfall does.
With the retailer's `auto_reroute` the line moves only to a source that ships it with probability
`REROUTE_AT_LEAST` (network/flags/evaluation.py: `reroute_flagged`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability import depletion, predictive
from network.availability.models import PREDICTIVE, AvailabilitySettings
from network.availability.settings import availability_model
from network.db import is_postgres
from network.flags import services as flags
from network.flags.models import LIKELY_SHORT, Flag
from network.flags.rules import LineFacts, clearing
from network.orders.changes import accepted
from network.orders.models import OPEN, Order, PurchaseOrder, PurchaseOrderLine
from network.stock.models import StockPosition, StockSnapshot
from network.stock.rules import effective_as_of

# More likely short than not: the vendor has "probably sold" the units, the words. Lower,
# the flag would cry wolf on lines the predictive model itself chose to sell at a risk (an offered
# unit may be gone with up to 1 - its risk quantile: about 23 % at the default $100 cancellation
# against a 30 % margin); higher, it would come too late to reroute before the vendor refuses.
RAISE_AT = 0.5
# A raised flag stands until the probability falls clearly back (a fresh count, mostly), so that an
# hourly re-evaluation hovering around RAISE_AT does not raise and resolve it again and again.
CLEAR_BELOW = 0.4
# A likely_short line is moved (auto_reroute) only to a source that ships its units with at least
# this probability: one refusal in twenty, where the line it leaves is refused one time in two or
# more; a source less likely to ship is never chosen.
REROUTE_AT_LEAST = 0.95
LESS_LIKELY = "less_likely"  # the resolution when the probability fell back


def short_probability(estimate: depletion.Estimate | None, horizon_minutes: float, headroom: int) -> float:
    """P(outside sales over the horizon exceed `headroom`): the line's units are gone."""
    return 1.0 - depletion.still_there(estimate, horizon_minutes, headroom)


def check(
    session: Session,
    *,
    now: dt.datetime,
    vendor_id: int | None = None,
    line_ids: Sequence[int] | None = None,
) -> list[Flag]:
    """Raise, update and resolve `likely_short` flags (of one vendor's lines, or of lines just
    placed, if given); return the new ones.

    The caller holds what serializes raisers (the evaluator's lock, the vendor's positions while
    its feed applies, the positions an order just reserved).
    """
    params = {"vendor_id": vendor_id, "line_ids": sorted(set(line_ids or ()))}
    rows = session.execute(_lines_query(vendor_id is not None, line_ids is not None), params).all()
    if not rows and line_ids is not None:
        return []  # lines of a retailer on the fixed model, or already acknowledged
    inputs = predictive.load(session, [row.variant_id for row in rows], [row.retailer_id for row in rows])
    by_variant: dict[int, list[sa.Row]] = defaultdict(list)
    for row in rows:  # newest first within a variant
        by_variant[row.variant_id].append(row)
    assessed: dict[int, dict] = {}
    for variant_rows in by_variant.values():
        newer = 0
        for row in variant_rows:
            assessed[row.id] = _assess(inputs, row, newer, now)
            newer += row.unshipped
    open_query = sa.select(Flag).where(Flag.kind == LIKELY_SHORT, Flag.resolved_at.is_(None))
    if vendor_id is not None:
        open_query = open_query.where(Flag.vendor_id == vendor_id)
    if line_ids is not None:
        open_query = open_query.where(Flag.po_line_id.in_(params["line_ids"]))
    open_ = {flag.po_line_id: flag for flag in session.scalars(open_query.order_by(Flag.id))}
    to_raise = [line_id for line_id, detail in sorted(assessed.items()) if _raise(detail, line_id, open_)]
    if to_raise and vendor_id is None and line_ids is None and is_postgres(session):
        to_raise = _serialized(session, to_raise, {row.id: row.variant_id for row in rows})
    gone = [line_id for line_id in open_ if line_id not in assessed]
    lines = {
        line.id: line
        for line in session.scalars(
            sa.select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(sorted({*gone, *to_raise})))
        )
    }
    by_reason: dict[str, list[Flag]] = defaultdict(list)
    for line_id, flag in open_.items():
        if line_id in assessed:
            if assessed[line_id]["probability"] < CLEAR_BELOW:
                by_reason[LESS_LIKELY].append(flag)
            continue
        line = lines.get(line_id)
        reason = clearing(LIKELY_SHORT, _facts(line)) if line is not None else None
        by_reason[reason or LESS_LIKELY].append(flag)  # a line the rule no longer looks at
    for reason, cleared in by_reason.items():
        flags.resolve_flags(session, cleared, resolution=reason, now=now)
    raised = []
    for line_id in to_raise:
        ref = flags.line_ref(lines[line_id])
        flag = flags.raise_flag(session, ref, kind=LIKELY_SHORT, now=now, detail=assessed[line_id])
        if line_id not in open_:
            raised.append(flag)
    return raised


def _serialized(session: Session, line_ids: list[int], variants: dict[int, int]) -> list[int]:
    """The evaluator holds no position lock, a feed applying or an order placed does: it raises only
    on lines whose positions it can lock now (in variant order, as every writer does), so that no
    two raisers flag one line twice; a busy line is seen by that other raiser, or the next hour."""
    wanted = sorted({variants[line_id] for line_id in line_ids})
    got = set(
        session.scalars(
            sa.select(StockPosition.variant_id)
            .where(StockPosition.variant_id.in_(wanted))
            .order_by(StockPosition.variant_id)
            .with_for_update(skip_locked=True)
        )
    )
    return [line_id for line_id in line_ids if variants[line_id] in got]


@accepted.connect
def after_acceptance(session: Session, order: Order, *, now: dt.datetime) -> None:
    """An order just placed: its lines may already be likely short (an order can take units the
    published figure held back, it waits for the vendor's import). Production's evaluator would
    see them within seconds; here they are seen at once, and the simulator sees them as it would.
    The order's lines are the variants' newest, so no newer line adds to their headroom."""
    line_ids = [line.id for po in order.purchase_orders for line in po.lines if line.acknowledged_at is None]
    if line_ids and availability_model(session, retailer_id=order.retailer_id) == PREDICTIVE:
        check(session, now=now, line_ids=line_ids)


def _raise(detail: dict, line_id: int, open_: dict[int, Flag]) -> bool:
    """Raise (or keep, with its figures updated) the flag on this line?"""
    if line_id in open_:
        return detail["probability"] >= CLEAR_BELOW and open_[line_id].detail != detail
    return detail["probability"] >= RAISE_AT


def _facts(line: PurchaseOrderLine) -> LineFacts:
    return LineFacts(
        status=line.status, unshipped=line.unshipped, acknowledged=line.acknowledged_at is not None
    )


def _assess(inputs: predictive.Inputs, row: sa.Row, newer: int, now: dt.datetime) -> dict:
    as_of = effective_as_of(row.as_of, row.snapshot_as_of)
    estimate, horizon = predictive.outlook(
        inputs,
        variant_id=row.variant_id,
        vendor_id=row.vendor_id,
        as_of=as_of,
        now=now,
        placed_at=row.placed_at,
    )
    # Units the count holds beyond the hub's lines as old as this one or older.
    headroom = row.quantity - row.committed + min(newer, max(0, row.committed))
    probability = short_probability(estimate, horizon, headroom)
    return {
        "probability": round(probability, 4),
        "rate_per_hour": round(estimate.rate * 60, 4) if estimate is not None else 0.0,
        "horizon_minutes": round(horizon, 1),
        "headroom": headroom,
        "counted": row.quantity,
        "counted_at": as_of.isoformat() if as_of is not None else None,
    }


@functools.cache
def _lines_query(one_vendor: bool, some_lines: bool) -> sa.Select:
    """Open lines not yet acknowledged of retailers on the predictive model, newest first (of
    `:vendor_id`, and among `:line_ids`, if asked)."""
    query = (
        sa.select(
            PurchaseOrderLine.id,
            PurchaseOrderLine.variant_id,
            (
                PurchaseOrderLine.ordered
                - PurchaseOrderLine.cancelled
                - PurchaseOrderLine.rejected
                - PurchaseOrderLine.shipped
            ).label("unshipped"),
            PurchaseOrder.retailer_id,
            PurchaseOrder.vendor_id,
            PurchaseOrder.created_at.label("placed_at"),
            StockPosition.quantity,
            StockPosition.committed,
            StockPosition.as_of,
            StockSnapshot.as_of.label("snapshot_as_of"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
        .join(
            AvailabilitySettings,
            sa.and_(
                AvailabilitySettings.retailer_id == PurchaseOrder.retailer_id,
                AvailabilitySettings.model == PREDICTIVE,
            ),
        )
        .join(StockPosition, StockPosition.variant_id == PurchaseOrderLine.variant_id)
        .outerjoin(StockSnapshot, StockSnapshot.vendor_id == PurchaseOrder.vendor_id)
        .where(PurchaseOrderLine.status == OPEN, PurchaseOrderLine.acknowledged_at.is_(None))
        .order_by(PurchaseOrderLine.variant_id, PurchaseOrderLine.id.desc())
    )
    if one_vendor:
        query = query.where(PurchaseOrder.vendor_id == sa.bindparam("vendor_id"))
    if some_lines:
        query = query.where(PurchaseOrderLine.id.in_(sa.bindparam("line_ids", expanding=True)))
    return query
