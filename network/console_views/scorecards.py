"""Vendor scorecards: how well each connected vendor fills, acknowledges and ships a retailer's orders.

`score` is the arithmetic (plain values in, plain values out); `scorecards` reads the facts of the
purchase-order lines a retailer placed in the window with a few grouped queries (no N+1).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.flags.models import EDI_UNACKNOWLEDGED, REFUSALS, Flag
from network.orders.fill import VENDOR_REFUSALS, fill_rate
from network.orders.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderTransition
from network.partners.models import Connection, Organization
from network.stock.models import StockPosition, StockSnapshot


@dataclass(frozen=True, slots=True)
class LineFacts:
    """One purchase-order line: what was ordered, what the vendor did with it, and when."""

    placed_at: dt.datetime
    ordered: int
    shipped: int
    refused: int  # units the vendor itself cancelled or rejected
    live: int  # ordered minus every cancellation and rejection, whoever made it
    acknowledged_at: dt.datetime | None
    last_shipped_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Score:
    lines: int
    units_ordered: int
    units_shipped: int
    fill_rate: float | None
    cancel_rate: float | None
    on_time_ack: float | None
    on_time_ship: float | None
    median_ack_hours: float | None
    median_ship_hours: float | None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _hours(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 3600


def score(lines: Sequence[LineFacts], *, ack_sla_hours: int, ship_sla_hours: int, now: dt.datetime) -> Score:
    """Score a vendor on its lines; a figure with nothing to measure yet is None, not 0 or 1.

    - fill rate: units shipped / units ordered; cancel rate: units the vendor refused / ordered.
    - on-time acknowledgement: of the lines that were acknowledged or whose deadline passed
      unacknowledged while still live, the share acknowledged within `ack_sla_hours`. A line
      cancelled before the vendor answered is not the vendor's to acknowledge.
    - on-time shipment: of the lines fully shipped or whose ship deadline passed with units still
      to ship, the share whose last unit left within `ship_sla_hours`.
    - medians: hours from placement to acknowledgement, and to the last unit shipped (fully
      shipped lines only: a partial shipment is not yet the time to ship).
    """
    ack_sla = dt.timedelta(hours=ack_sla_hours)
    ship_sla = dt.timedelta(hours=ship_sla_hours)
    ack_due = ack_on_time = ship_due = ship_on_time = 0
    ack_hours: list[float] = []
    ship_hours: list[float] = []
    for line in lines:
        if line.acknowledged_at is not None:
            ack_due += 1
            ack_on_time += line.acknowledged_at - line.placed_at <= ack_sla
            ack_hours.append(_hours(line.placed_at, line.acknowledged_at))
        elif line.live > 0 and now - line.placed_at > ack_sla:
            ack_due += 1
        complete = line.shipped > 0 and line.shipped == line.live and line.last_shipped_at is not None
        if complete:
            ship_due += 1
            ship_on_time += line.last_shipped_at - line.placed_at <= ship_sla
            ship_hours.append(_hours(line.placed_at, line.last_shipped_at))
        elif line.live > line.shipped and now - line.placed_at > ship_sla:
            ship_due += 1
    ordered = sum(line.ordered for line in lines)
    shipped = sum(line.shipped for line in lines)
    return Score(
        lines=len(lines),
        units_ordered=ordered,
        units_shipped=shipped,
        fill_rate=fill_rate(shipped, ordered),
        cancel_rate=_share(sum(line.refused for line in lines), ordered),
        on_time_ack=_share(ack_on_time, ack_due),
        on_time_ship=_share(ship_on_time, ship_due),
        median_ack_hours=statistics.median(ack_hours) if ack_hours else None,
        median_ship_hours=statistics.median(ship_hours) if ship_hours else None,
    )


def flagged_first(lead_times: Sequence[int | None]) -> float | None:
    """The share of vendor refusals a flag announced first (a lead time of None: none did)."""
    return _share(sum(lead is not None for lead in lead_times), len(lead_times))


@dataclass(frozen=True, slots=True)
class Scorecard:
    connection_id: int
    vendor_id: int
    vendor_name: str
    status: str
    routing_priority: int
    ack_sla_hours: int
    ship_sla_hours: int
    days: int
    score: Score
    flagged_first: float | None
    # EDI vendors: purchase orders whose 850 the vendor's translator never acknowledged with a 997
    # within the partner's window (each one a flag on its lines when it happened).
    unacknowledged_850s: int
    last_count_at: dt.datetime | None
    feed_age_minutes: int | None


def scorecards(session: Session, *, retailer_id: int, days: int, now: dt.datetime) -> list[Scorecard]:
    """Score every vendor the retailer is connected to, on the lines it placed in the last `days`."""
    since = now - dt.timedelta(days=days)
    connections = session.execute(
        sa.select(Connection, Organization.name)
        .join(Organization, Organization.id == Connection.vendor_id)
        .where(Connection.retailer_id == retailer_id)
        .order_by(Connection.routing_priority, Connection.id)
    ).all()
    if not connections:
        return []
    facts = _line_facts(session, retailer_id=retailer_id, since=since)
    leads: dict[int, list[int | None]] = defaultdict(list)
    for vendor_id, lead in session.execute(
        sa.select(Flag.vendor_id, Flag.lead_time_seconds).where(
            Flag.retailer_id == retailer_id, Flag.kind.in_(REFUSALS), Flag.raised_at >= since
        )
    ):
        leads[vendor_id].append(lead)
    unacknowledged = dict(
        session.execute(
            sa.select(Flag.vendor_id, sa.func.count(sa.distinct(PurchaseOrderLine.po_id)))
            .join(PurchaseOrderLine, PurchaseOrderLine.id == Flag.po_line_id)
            .where(Flag.retailer_id == retailer_id, Flag.kind == EDI_UNACKNOWLEDGED, Flag.raised_at >= since)
            .group_by(Flag.vendor_id)
        ).all()
    )
    counts = _last_counts(session, [conn.vendor_id for conn, _ in connections])
    cards = []
    for conn, name in connections:
        last = counts.get(conn.vendor_id)
        cards.append(
            Scorecard(
                connection_id=conn.id,
                vendor_id=conn.vendor_id,
                vendor_name=name,
                status=conn.status,
                routing_priority=conn.routing_priority,
                ack_sla_hours=conn.ack_sla_hours,
                ship_sla_hours=conn.ship_sla_hours,
                days=days,
                score=score(
                    facts.get(conn.vendor_id, []),
                    ack_sla_hours=conn.ack_sla_hours,
                    ship_sla_hours=conn.ship_sla_hours,
                    now=now,
                ),
                flagged_first=flagged_first(leads.get(conn.vendor_id, [])),
                unacknowledged_850s=unacknowledged.get(conn.vendor_id, 0),
                last_count_at=last,
                feed_age_minutes=None if last is None else max(0, int((now - last).total_seconds() // 60)),
            )
        )
    return cards


def _line_facts(session: Session, *, retailer_id: int, since: dt.datetime) -> dict[int, list[LineFacts]]:
    refused = (
        sa.select(
            PurchaseOrderTransition.po_line_id, sa.func.sum(PurchaseOrderTransition.quantity).label("units")
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderTransition.po_id)
        .where(
            PurchaseOrder.retailer_id == retailer_id,
            PurchaseOrder.created_at >= since,
            PurchaseOrderTransition.action.in_(VENDOR_REFUSALS),
            PurchaseOrderTransition.actor_org_id == PurchaseOrder.vendor_id,
        )
        .group_by(PurchaseOrderTransition.po_line_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            PurchaseOrder.vendor_id,
            PurchaseOrder.created_at,
            PurchaseOrderLine.ordered,
            PurchaseOrderLine.shipped,
            PurchaseOrderLine.cancelled,
            PurchaseOrderLine.rejected,
            PurchaseOrderLine.acknowledged_at,
            PurchaseOrderLine.last_shipped_at,
            sa.func.coalesce(refused.c.units, 0),
        )
        .join(PurchaseOrderLine, PurchaseOrderLine.po_id == PurchaseOrder.id)
        .outerjoin(refused, refused.c.po_line_id == PurchaseOrderLine.id)
        .where(PurchaseOrder.retailer_id == retailer_id, PurchaseOrder.created_at >= since)
    )
    found: dict[int, list[LineFacts]] = defaultdict(list)
    for vendor_id, placed, ordered, shipped, cancelled, rejected, acked, last_shipped, units in rows:
        found[vendor_id].append(
            LineFacts(
                placed_at=placed,
                ordered=ordered,
                shipped=shipped,
                refused=int(units),
                live=ordered - cancelled - rejected,
                acknowledged_at=acked,
                last_shipped_at=last_shipped,
            )
        )
    return found


def _last_counts(session: Session, vendor_ids: list[int]) -> dict[int, dt.datetime]:
    """Each vendor's latest count: its last full snapshot or its newest reported row."""
    last: dict[int, dt.datetime] = {}
    for model in (StockPosition, StockSnapshot):
        for vendor_id, as_of in session.execute(
            sa.select(model.vendor_id, sa.func.max(model.as_of))
            .where(model.vendor_id.in_(vendor_ids))
            .group_by(model.vendor_id)
        ):
            if as_of is not None and (vendor_id not in last or as_of > last[vendor_id]):
                last[vendor_id] = as_of
    return last
