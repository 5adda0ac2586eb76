"""Apply vendor counts to stock positions, with the ledger written alongside."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.db import is_postgres
from network.errors import NotFound
from network.feeds.parsing import FeedRow
from network.partners.models import Organization
from network.stock.models import StockLedgerEntry, StockPosition, StockSnapshot
from network.stock.snapshot import PositionView, SnapshotPlan, plan_snapshot, position_view

CHUNK = 2000


def lock_vendor_stock(session: Session, vendor_id: int) -> None:
    """Serialize the writers of one vendor's reported counts (feeds, gradings) on PostgreSQL.

    SQLite already lets one writer at a time in. Raises NotFound.
    """
    query = sa.select(Organization.id).where(Organization.id == vendor_id)
    if is_postgres(session):
        # NO KEY UPDATE: writers of one vendor still exclude each other, but rows that merely
        # reference the vendor (an order's purchase order: a FOR KEY SHARE lock) are not blocked,
        # which would deadlock against an order holding a position this feed is about to lock.
        query = query.with_for_update(key_share=True)
    if session.scalar(query) is None:
        raise NotFound(f"vendor {vendor_id} not found")


def snapshot_as_of(session: Session, vendor_id: int) -> dt.datetime | None:
    return session.scalar(sa.select(StockSnapshot.as_of).where(StockSnapshot.vendor_id == vendor_id))


def current_positions(session: Session, vendor_id: int) -> dict[str, PositionView]:
    """Return the vendor's positions keyed by vendor sku, as the diff needs them."""
    snap = snapshot_as_of(session, vendor_id)
    rows = session.execute(
        sa.select(
            VendorVariant.vendor_sku,
            StockPosition.variant_id,
            StockPosition.quantity,
            StockPosition.damaged,
            StockPosition.pending_inspection,
            StockPosition.incoming,
            StockPosition.incoming_eta,
            StockPosition.basis,
            StockPosition.as_of,
        )
        .join(VendorVariant, VendorVariant.id == StockPosition.variant_id)
        .where(StockPosition.vendor_id == vendor_id)
    )
    return {row.vendor_sku: position_view(row, snap) for row in rows}


def plan_counts(
    session: Session, *, vendor_id: int, rows: Iterable[FeedRow], full: bool, basis: str, as_of: dt.datetime
) -> SnapshotPlan:
    """Work out what a feed would change, writing nothing."""
    return plan_snapshot(current_positions(session, vendor_id), rows, full=full, basis=basis, as_of=as_of)


def lock_positions(session: Session, variant_ids: Iterable[int]) -> None:
    """Lock positions in id order, the order every writer takes them in, so writers never deadlock."""
    if not is_postgres(session):
        return
    ids = sorted(set(variant_ids))
    for start in range(0, len(ids), CHUNK):
        session.execute(
            sa.select(StockPosition.variant_id)
            .where(StockPosition.variant_id.in_(ids[start : start + CHUNK]))
            .order_by(StockPosition.variant_id)
            .with_for_update()
        ).all()


def carry_out(
    session: Session,
    plan: SnapshotPlan,
    *,
    vendor_id: int,
    full: bool,
    as_of: dt.datetime,
    feed_run_id: int | None,
    now: dt.datetime,
    also_lock: Sequence[int] = (),
) -> list[int]:
    """Write a plan's changes and ledger entries; return the variants whose positions changed.

    `also_lock` names positions the caller will rewrite next (committed units of in-flight
    orders); they are locked together with the changed ones, in one ordered pass.
    """
    changed = plan.changed_variant_ids
    if also_lock:
        lock_positions(session, [*changed, *also_lock])
    by_shape: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    ledger = []
    for variant_id, values, diff in sorted(plan.changes, key=lambda change: change[0]):
        by_shape[tuple(sorted(values))].append({"variant_id_": variant_id, **values, "updated_at": now})
        if diff:
            ledger.append(
                {
                    "variant_id": variant_id,
                    "at": now,
                    "reason": "feed",
                    "changes": diff,
                    "feed_run_id": feed_run_id,
                }
            )
    table = StockPosition.__table__
    for names, params in by_shape.items():
        stmt = (
            table.update()
            .where(table.c.variant_id == sa.bindparam("variant_id_"))
            .values({name: sa.bindparam(name) for name in (*names, "updated_at")})
        )
        session.execute(stmt, params)
    if ledger:
        session.execute(sa.insert(StockLedgerEntry), ledger)
    if full:
        _record_full_snapshot(session, vendor_id=vendor_id, as_of=as_of, feed_run_id=feed_run_id, now=now)
    return changed


def _record_full_snapshot(
    session: Session, *, vendor_id: int, as_of: dt.datetime, feed_run_id: int | None, now: dt.datetime
) -> None:
    snapshot = session.get(StockSnapshot, vendor_id)
    if snapshot is None:
        session.add(StockSnapshot(vendor_id=vendor_id, as_of=as_of, feed_run_id=feed_run_id, applied_at=now))
    else:
        snapshot.as_of = as_of
        snapshot.feed_run_id = feed_run_id
        snapshot.applied_at = now
    session.flush()
