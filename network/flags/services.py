"""Raise and resolve flags (each one an event to the retailer), list them, and the lead-time figures."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.errors import Conflict, NotFound
from network.flags.models import REFUSALS, Flag
from network.flags.rules import FlagStats, flag_stats, lead_time
from network.orders.models import PurchaseOrderLine
from network.outbox.events import FlagResolved, OrderAtRisk
from network.outbox.services import record_many

OPEN = "open"
RESOLVED = "resolved"
STATUSES = (OPEN, RESOLVED)
DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class LineRef:
    """The ids a flag hangs on, read from a purchase-order line (only an order line's, for the
    units of an `unfillable` flag, which have no vendor or purchase order yet)."""

    retailer_id: int
    vendor_id: int | None
    order_id: int
    order_line_id: int
    po_id: int | None
    po_line_id: int | None


def line_ref(line: PurchaseOrderLine) -> LineRef:
    po = line.purchase_order
    return LineRef(po.retailer_id, po.vendor_id, po.order_id, line.order_line_id, po.id, line.id)


def open_flags(
    session: Session, po_line_ids: Iterable[int], kinds: Sequence[str] | None = None
) -> list[Flag]:
    """Return the open flags of some lines, oldest first."""
    ids = sorted(set(po_line_ids))
    if not ids:
        return []
    params = {"ids": ids, **({"kinds": list(kinds)} if kinds is not None else {})}
    return list(session.scalars(open_flags_query(kinds is not None), params))


@functools.cache
def open_flags_query(some_kinds: bool) -> sa.Select:
    """Open flags on `:ids` (of `:kinds` if some), oldest first; built once, as it runs on every transition."""
    query = sa.select(Flag).where(
        Flag.po_line_id.in_(sa.bindparam("ids", expanding=True)), Flag.resolved_at.is_(None)
    )
    if some_kinds:
        query = query.where(Flag.kind.in_(sa.bindparam("kinds", expanding=True)))
    return query.order_by(Flag.id)


def open_line_flags(session: Session, order_line_ids: Iterable[int], kind: str) -> list[Flag]:
    """Return the open flags of one kind on some order lines, oldest first."""
    ids = sorted(set(order_line_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            sa.select(Flag)
            .where(Flag.order_line_id.in_(ids), Flag.kind == kind, Flag.resolved_at.is_(None))
            .order_by(Flag.id)
        )
    )


def raise_flag(
    session: Session,
    ref: LineRef,
    *,
    kind: str,
    now: dt.datetime,
    detail: dict | None = None,
    lead_time_seconds: int | None = None,
) -> Flag:
    """Raise a flag on a line and tell the retailer (order.at_risk); an open one of that kind is kept.

    The caller holds what serializes raisers of this kind on this line (the purchase order's or
    the position's lock, or the evaluator's).
    """
    if ref.po_line_id is None:
        existing = open_line_flags(session, [ref.order_line_id], kind)
    else:
        existing = open_flags(session, [ref.po_line_id], [kind])
    if existing and kind not in REFUSALS:
        flag = existing[0]
        if detail is not None and flag.detail != detail:
            flag.detail = detail  # e.g. a shortfall that grew: the flag stays, its figures move
        return flag
    flag = Flag(
        retailer_id=ref.retailer_id,
        vendor_id=ref.vendor_id,
        order_id=ref.order_id,
        order_line_id=ref.order_line_id,
        po_line_id=ref.po_line_id,
        kind=kind,
        raised_at=now,
        detail=detail or {},
        lead_time_seconds=lead_time_seconds,
        cancelled_at=now if kind in REFUSALS else None,
    )
    session.add(flag)
    session.flush()
    event = OrderAtRisk(
        flag_id=flag.id,
        kind=kind,
        order_id=ref.order_id,
        line_id=ref.order_line_id,
        purchase_order_id=ref.po_id,
        purchase_order_line_id=ref.po_line_id,
        raised_at=now.isoformat(),
        detail=flag.detail,
    )
    record_many(session, [(ref.retailer_id, f"order:{ref.order_id}", event)], now=now)
    return flag


def resolve_flags(session: Session, flags: Iterable[Flag], *, resolution: str, now: dt.datetime) -> int:
    """Clear open flags and tell the retailer (flag.resolved); return how many this call cleared.

    Each flag is cleared by a conditional update, so two resolvers racing on one flag publish
    its resolution once.
    """
    table = Flag.__table__
    events = []
    for flag in flags:
        cleared = session.execute(
            table.update()
            .where(table.c.id == flag.id, table.c.resolved_at.is_(None))
            .values(resolved_at=now, resolution=resolution)
        ).rowcount
        if not cleared:
            continue
        session.expire(flag, ["resolved_at", "resolution"])
        event = FlagResolved(
            flag_id=flag.id,
            kind=flag.kind,
            order_id=flag.order_id,
            line_id=flag.order_line_id,
            resolution=resolution,
            resolved_at=now.isoformat(),
        )
        events.append((flag.retailer_id, f"order:{flag.order_id}", event))
    record_many(session, events, now=now)
    return len(events)


def note_refusal(session: Session, po_line_id: int, *, now: dt.datetime) -> int | None:
    """Stamp the line's open warnings with the vendor's refusal; return the lead time of the earliest.

    The refusal flags of earlier refusals are not warnings and are left alone.
    """
    warnings = [flag for flag in open_flags(session, [po_line_id]) if flag.kind not in REFUSALS]
    lead = lead_time([flag.raised_at for flag in warnings], now)
    for flag in warnings:
        if flag.cancelled_at is None and flag.raised_at <= now:
            flag.cancelled_at = now
            flag.lead_time_seconds = int((now - flag.raised_at).total_seconds())
    return lead


# --- reads ------------------------------------------------------------------------------------


def list_flags(
    session: Session,
    *,
    retailer_id: int,
    status: str | None,
    after_id: int,
    limit: int,
    order_id: int | None = None,
) -> list[Flag]:
    """Return a retailer's flags (open, resolved or all; of one order), oldest first."""
    query = sa.select(Flag).where(Flag.retailer_id == retailer_id, Flag.id > after_id)
    if order_id is not None:
        query = query.where(Flag.order_id == order_id)
    if status == OPEN:
        query = query.where(Flag.resolved_at.is_(None))
    elif status == RESOLVED:
        query = query.where(Flag.resolved_at.is_not(None))
    return list(session.scalars(query.order_by(Flag.id).limit(limit)))


def get_flag(session: Session, flag_id: int, *, retailer_id: int) -> Flag:
    """Raises NotFound (also for another retailer's flag)."""
    flag = session.get(Flag, flag_id)
    if flag is None or flag.retailer_id != retailer_id:
        raise NotFound(f"flag {flag_id} not found")
    return flag


def dismiss_flag(session: Session, flag_id: int, *, retailer_id: int, now: dt.datetime) -> Flag:
    """Clear a flag the retailer has dealt with itself. Raises NotFound, Conflict (already resolved)."""
    flag = get_flag(session, flag_id, retailer_id=retailer_id)
    if not resolve_flags(session, [flag], resolution=DISMISSED, now=now):
        raise Conflict(f"flag {flag_id} is already resolved ({flag.resolution})")
    session.refresh(flag)
    return flag


def stats(session: Session, *, retailer_id: int, since: dt.datetime | None = None) -> FlagStats:
    """Return the share of vendor cancellations that a flag announced first, and the median lead time.

    Every vendor refusal (cancel or reject) is a cancellation; its refusal flag carries the
    lead time from the earliest warning that was open when it came (None: no warning).
    """
    query = sa.select(Flag.lead_time_seconds).where(Flag.retailer_id == retailer_id, Flag.kind.in_(REFUSALS))
    if since is not None:
        query = query.where(Flag.raised_at >= since)
    return flag_stats(list(session.scalars(query)))
