"""Where flags come from: a snapshot leaving lines short, the clock passing deadlines, feeds going stale.

- `check_shortfall` runs in the transaction that applies a snapshot (and after transitions):
  positions whose count no longer covers their in-flight lines get `shortfall` flags, the
  shortfall allotted to the newest lines first; lines covered again are cleared.
- `evaluate` is the background job's unit of work: `ack_overdue`, `ship_overdue` and
  `stale_feed` raised and cleared against the clock, `likely_short` against the forecast
  (network/flags/likely_short.py), expired holds lifted, and flagged lines rerouted where the
  retailer's policy allows.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.db import try_job_lock
from network.flags import holds, likely_short, reroute
from network.flags import services as flags
from network.flags.models import ACK_OVERDUE, LIKELY_SHORT, REFUSALS, SHORTFALL, STALE_FEED, Flag
from network.flags.rules import (
    CLOCK_KINDS,
    STOCK_RESTORED,
    LineClock,
    LineFacts,
    LineNeed,
    ack_due_at,
    allot_shortfall,
    clearing,
    due_kinds,
)
from network.orders import inflight
from network.orders import reroute as order_reroute
from network.orders.models import (
    ACKNOWLEDGED,
    OPEN,
    PARTIALLY_SHIPPED,
    PurchaseOrder,
    PurchaseOrderLine,
)
from network.outbox.events import PurchaseOrderAckOverdue
from network.outbox.services import record_many
from network.partners.models import Connection
from network.stock.models import StockPosition, StockSnapshot
from network.stock.rules import effective_as_of

UNSHIPPED = (OPEN, ACKNOWLEDGED, PARTIALLY_SHIPPED)


def _lines(session: Session, ids: Sequence[int]) -> dict[int, PurchaseOrderLine]:
    if not ids:
        return {}
    return {
        line.id: line
        for line in session.scalars(
            sa.select(PurchaseOrderLine)
            .where(PurchaseOrderLine.id.in_(sorted(set(ids))))
            .options(
                selectinload(PurchaseOrderLine.purchase_order), selectinload(PurchaseOrderLine.order_line)
            )
        )
    }


def facts(line: PurchaseOrderLine) -> LineFacts:
    return LineFacts(
        status=line.status, unshipped=line.unshipped, acknowledged=line.acknowledged_at is not None
    )


def clear_settled(session: Session, line_ids: Sequence[int], *, now: dt.datetime) -> None:
    """Clear the open flags that the lines' states now answer (acknowledged, shipped, cancelled...)."""
    open_ = flags.open_flags(session, line_ids)
    lines = _lines(session, [flag.po_line_id for flag in open_])
    by_reason: dict[str, list[Flag]] = defaultdict(list)
    for flag in open_:
        reason = clearing(flag.kind, facts(lines[flag.po_line_id]))
        if reason:
            by_reason[reason].append(flag)
    for reason, cleared in by_reason.items():
        flags.resolve_flags(session, cleared, resolution=reason, now=now)


def may_clear_or_fall_short(
    session: Session, *, line_ids: Sequence[int], vendor_id: int, variant_ids: Sequence[int]
) -> bool:
    """Could `clear_settled` of the lines or `check_shortfall` of the variants change anything? No
    when the lines have no open flag, and the vendor's variants no position committed beyond its
    count and no open shortfall flag: exactly what those two would read first, in one statement."""
    params = {"ids": sorted(set(line_ids)), "vendor_id": vendor_id, "variant_ids": sorted(set(variant_ids))}
    return bool(session.scalar(_may_change_query(), params))


@functools.cache
def _may_change_query() -> sa.Select:
    return sa.select(
        sa.or_(
            flags.open_flags_query(False).exists(),
            _short_positions_query(True).exists(),
            _open_shortfalls_query(True).exists(),
        )
    )


# --- shortfall --------------------------------------------------------------------------------


def check_shortfall(
    session: Session, *, vendor_id: int, now: dt.datetime, variant_ids: Sequence[int] | None = None
) -> list[Flag]:
    """Flag the lines the vendor's counts leave short (newest first), clear those covered; return new flags.

    The caller holds the positions' locks (a feed applying the snapshot, a transition on the
    lines), so the figures read here are the ones that stand.
    """
    some = variant_ids is not None
    params = {"vendor_id": vendor_id, **({"variant_ids": sorted(set(variant_ids))} if some else {})}
    short: dict[int, dict] = {}
    for row in session.execute(_short_positions_query(some), params):
        short.update(_short_lines(session, row))
    flagged = session.scalars(_open_shortfalls_query(some), params).all()
    covered = [flag for flag in flagged if flag.po_line_id not in short]
    lines = _lines(session, [*short, *(flag.po_line_id for flag in covered)])
    by_reason: dict[str, list[Flag]] = defaultdict(list)
    for flag in covered:
        by_reason[clearing(SHORTFALL, facts(lines[flag.po_line_id])) or STOCK_RESTORED].append(flag)
    for reason, cleared in by_reason.items():
        flags.resolve_flags(session, cleared, resolution=reason, now=now)
    open_before = {flag.po_line_id for flag in flagged}
    raised = []
    for line_id, detail in sorted(short.items()):
        flag = flags.raise_flag(
            session, flags.line_ref(lines[line_id]), kind=SHORTFALL, now=now, detail=detail
        )
        if line_id not in open_before:
            raised.append(flag)
    return raised


@functools.cache
def _short_positions_query(some_variants: bool) -> sa.Select:
    """A vendor's positions committed beyond its count (`:vendor_id`, and `:variant_ids` if some)."""
    query = (
        sa.select(
            StockPosition.variant_id,
            StockPosition.quantity,
            StockPosition.basis,
            StockPosition.as_of,
            StockPosition.committed,
            StockSnapshot.as_of.label("snapshot_as_of"),
        )
        .outerjoin(StockSnapshot, StockSnapshot.vendor_id == StockPosition.vendor_id)
        .where(
            StockPosition.vendor_id == sa.bindparam("vendor_id"),
            StockPosition.committed > StockPosition.quantity,
        )
    )
    if some_variants:
        query = query.where(StockPosition.variant_id.in_(sa.bindparam("variant_ids", expanding=True)))
    return query


@functools.cache
def _open_shortfalls_query(some_variants: bool) -> sa.Select:
    """A vendor's open shortfall flags (`:vendor_id`, and on `:variant_ids` if some)."""
    query = (
        sa.select(Flag)
        .join(PurchaseOrderLine, PurchaseOrderLine.id == Flag.po_line_id)
        .where(
            Flag.vendor_id == sa.bindparam("vendor_id"), Flag.kind == SHORTFALL, Flag.resolved_at.is_(None)
        )
    )
    if some_variants:
        query = query.where(PurchaseOrderLine.variant_id.in_(sa.bindparam("variant_ids", expanding=True)))
    return query


def _short_lines(session: Session, position: sa.Row) -> dict[int, dict]:
    state = inflight.PositionState(
        position.variant_id,
        position.basis,
        effective_as_of(position.as_of, position.snapshot_as_of),
        position.committed,
    )
    lines = list(
        session.scalars(
            sa.select(PurchaseOrderLine)
            .where(PurchaseOrderLine.variant_id == position.variant_id, PurchaseOrderLine.settled.is_(False))
            .order_by(PurchaseOrderLine.id.desc())
        )
    )
    shipments = inflight.line_shipments(session, [line.id for line in lines])
    needs = [
        LineNeed(
            line.id,
            counted=inflight.unreflected(inflight.line_view(line, shipments.get(line.id, ())), state),
            unshipped=line.unshipped,
        )
        for line in lines
        if line.live > 0
    ]
    needed = sum(need.counted for need in needs)
    return {
        line_id: {"short": units, "sellable": position.quantity, "needed": needed}
        for line_id, units in allot_shortfall(needs, position.quantity).items()
    }


# --- the clock --------------------------------------------------------------------------------


@dataclass
class Evaluation:
    raised: list[Flag] = field(default_factory=list)
    resolved: int = 0
    rerouted: int = 0
    holds_expired: int = 0


def evaluate(session: Session, *, now: dt.datetime) -> Evaluation | None:
    """Raise and clear the clock-driven flags, lift expired holds, reroute what the policy allows.

    Returns None when another evaluator is at work (PostgreSQL).
    """
    if not try_job_lock(session, "flag evaluation"):  # one evaluator at a time across workers
        return None
    result = Evaluation()
    clocks = _unshipped_clocks(session)
    due = {line_id: due_kinds(clock, now) for line_id, (clock, _) in clocks.items()}
    open_ = session.scalars(
        sa.select(Flag)
        .where(Flag.resolved_at.is_(None), Flag.kind.in_((*CLOCK_KINDS, SHORTFALL)))
        .order_by(Flag.id)
    ).all()
    have: dict[int, set[str]] = defaultdict(set)
    gone = [flag.po_line_id for flag in open_ if flag.po_line_id not in clocks]
    gone_lines = _lines(session, gone)
    by_reason: dict[str, list[Flag]] = defaultdict(list)
    for flag in open_:
        have[flag.po_line_id].add(flag.kind)
        if flag.po_line_id in gone_lines:
            reason = clearing(flag.kind, facts(gone_lines[flag.po_line_id]))
        elif flag.kind in CLOCK_KINDS:
            clock, _ = clocks[flag.po_line_id]
            reason = (
                None
                if flag.kind in due[flag.po_line_id]
                else clearing(flag.kind, _facts(clock), due[flag.po_line_id])
            )
        else:
            reason = None
        if reason:
            by_reason[reason].append(flag)
    for reason, cleared in by_reason.items():
        result.resolved += flags.resolve_flags(session, cleared, resolution=reason, now=now)
    to_raise = [(line_id, kind) for line_id, kinds in due.items() for kind in sorted(kinds - have[line_id])]
    lines = _lines(session, [line_id for line_id, _ in to_raise])
    overdue_by_po: dict[int, list[int]] = defaultdict(list)
    for line_id, kind in to_raise:
        clock, _ = clocks[line_id]
        detail = _clock_detail(kind, clock)
        result.raised.append(
            flags.raise_flag(session, flags.line_ref(lines[line_id]), kind=kind, now=now, detail=detail)
        )
        if kind == ACK_OVERDUE:
            overdue_by_po[lines[line_id].po_id].append(line_id)
    _tell_vendors_ack_overdue(session, overdue_by_po, clocks, lines, now=now)
    result.raised.extend(likely_short.check(session, now=now))
    result.holds_expired = len(holds.expire_holds(session, now=now))
    result.rerouted = reroute_flagged(session, now=now)
    session.flush()
    return result


def _facts(clock: LineClock) -> LineFacts:
    return LineFacts(status=OPEN, unshipped=1, acknowledged=clock.acknowledged)


def _clock_detail(kind: str, clock: LineClock) -> dict:
    if kind == ACK_OVERDUE:
        return {"due_at": ack_due_at(clock).isoformat()}
    if kind == STALE_FEED:
        return {"last_count_at": clock.as_of.isoformat() if clock.as_of else None}
    return {"due_at": (clock.placed_at + clock.ship_sla).isoformat()}


def _unshipped_clocks(
    session: Session, line_ids: Sequence[int] | None = None
) -> dict[int, tuple[LineClock, int]]:
    """Return {line id: (its clock, its vendor)} for every live line with units still to ship (or those given)."""
    query = (
        sa.select(
            PurchaseOrderLine.id,
            PurchaseOrderLine.acknowledged_at,
            PurchaseOrder.created_at,
            PurchaseOrder.vendor_id,
            Connection.ack_sla_hours,
            Connection.ship_sla_hours,
            Connection.stale_after_minutes,
            StockPosition.as_of,
            StockSnapshot.as_of.label("snapshot_as_of"),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
        .join(
            Connection,
            sa.and_(
                Connection.retailer_id == PurchaseOrder.retailer_id,
                Connection.vendor_id == PurchaseOrder.vendor_id,
            ),
        )
        .join(StockPosition, StockPosition.variant_id == PurchaseOrderLine.variant_id)
        .outerjoin(StockSnapshot, StockSnapshot.vendor_id == PurchaseOrder.vendor_id)
        .where(PurchaseOrderLine.status.in_(UNSHIPPED))
    )
    if line_ids is not None:
        query = query.where(PurchaseOrderLine.id.in_(sorted(set(line_ids))))
    return {
        row.id: (
            LineClock(
                placed_at=row.created_at,
                acknowledged=row.acknowledged_at is not None,
                ack_sla=dt.timedelta(hours=row.ack_sla_hours),
                ship_sla=dt.timedelta(hours=row.ship_sla_hours),
                as_of=effective_as_of(row.as_of, row.snapshot_as_of),
                stale_after=dt.timedelta(minutes=row.stale_after_minutes),
            ),
            row.vendor_id,
        )
        for row in session.execute(query)
    }


def _tell_vendors_ack_overdue(session, overdue_by_po, clocks, lines, *, now) -> None:  # noqa: ANN001
    events = []
    for po_id, line_ids in sorted(overdue_by_po.items()):
        first = lines[line_ids[0]]
        clock, vendor_id = clocks[first.id]
        event = PurchaseOrderAckOverdue(
            purchase_order_id=po_id,
            order_id=first.purchase_order.order_id,
            due_at=ack_due_at(clock).isoformat(),
            line_ids=sorted(line_ids),
        )
        events.append((vendor_id, f"order:{first.purchase_order.order_id}", event))
    record_many(session, events, now=now)


def clear_fresh(session: Session, *, vendor_id: int, now: dt.datetime) -> None:
    """Clear the vendor's stale_feed flags whose lines' counts are fresh again."""
    stale = session.scalars(
        sa.select(Flag).where(
            Flag.vendor_id == vendor_id, Flag.kind == STALE_FEED, Flag.resolved_at.is_(None)
        )
    ).all()
    if not stale:
        return
    clocks = _unshipped_clocks(session, [flag.po_line_id for flag in stale])
    fresh = [
        flag
        for flag in stale
        if flag.po_line_id in clocks and STALE_FEED not in due_kinds(clocks[flag.po_line_id][0], now)
    ]
    flags.resolve_flags(session, fresh, resolution="feed_fresh", now=now)


# --- reroutes ---------------------------------------------------------------------------------


def reroute_flagged(session: Session, *, now: dt.datetime, flagged: Sequence[Flag] | None = None) -> int:
    """Move flagged lines that the retailers' policy lets the hub move; return how many moved."""
    if flagged is None:
        flagged = session.scalars(
            sa.select(Flag)
            .join(PurchaseOrderLine, PurchaseOrderLine.id == Flag.po_line_id)
            .where(Flag.resolved_at.is_(None), PurchaseOrderLine.acknowledged_at.is_(None))
            .order_by(Flag.id)
        ).all()
    by_line: dict[int, list[Flag]] = defaultdict(list)
    for flag in flagged:
        if flag.resolved_at is None:
            by_line[flag.po_line_id].append(flag)
    moved = 0
    for line_id, line_flags in by_line.items():
        line = session.get(PurchaseOrderLine, line_id)
        if line is None or not order_reroute.allowed(session, line):
            continue
        refused = sum(int(flag.detail.get("quantity", 0)) for flag in line_flags if flag.kind in REFUSALS)
        at_least = None
        if refused:
            # The vendor refused these units already: move them (its refusal flags stay open until then).
            quantity, release = refused, False
        else:
            quantity, release = line.unshipped, True
            if all(flag.kind == LIKELY_SHORT for flag in line_flags):
                # Only a forecast says the line is short: move it only where it very probably ships.
                at_least = likely_short.REROUTE_AT_LEAST
        moved_to = reroute.reroute(
            session, line, quantity=quantity, release=release, now=now, at_least=at_least
        )
        if moved_to is not None:
            moved += 1
    return moved
