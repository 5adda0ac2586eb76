"""Apply vendor counts to stock positions, with the ledger written alongside."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.db import is_postgres
from network.errors import NotFound
from network.partners.models import Organization
from network.stock.models import StockLedgerEntry, StockPosition, StockSnapshot
from network.stock.rules import effective_as_of
from network.stock.snapshot import PositionView, SnapshotPlan

CHUNK = 2000
WRITE_CHUNK = 10_000


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
    # A row's own as_of tells more than the vendor's last full snapshot only when it is newer
    # (effective_as_of); the others are read as NULL, sparing a timestamp conversion per position.
    own_as_of = (
        StockPosition.as_of if snap is None else sa.case((StockPosition.as_of > snap, StockPosition.as_of))
    )
    query = (
        sa.select(
            VendorVariant.vendor_sku,
            StockPosition.variant_id,
            StockPosition.quantity,
            StockPosition.damaged,
            StockPosition.pending_inspection,
            StockPosition.incoming,
            StockPosition.incoming_eta,
            StockPosition.basis,
            own_as_of,
        )
        .join(VendorVariant, VendorVariant.id == StockPosition.variant_id)
        .where(StockPosition.vendor_id == vendor_id)
    )
    # Core rows streamed in batches: no ORM row machinery per position, and a catalog of 100,000
    # positions never sits in memory twice (driver rows and views).
    rows = session.connection().execute(query, execution_options={"yield_per": CHUNK})
    return {
        sku: PositionView(
            variant_id, qty, damaged, pending, incoming, eta, basis, effective_as_of(as_of, snap)
        )
        for sku, variant_id, qty, damaged, pending, incoming, eta, basis, as_of in rows
    }


def lock_positions(session: Session, variant_ids: Iterable[int]) -> None:
    """Lock positions in id order, the order every writer takes them in, so writers never deadlock."""
    if not is_postgres(session):
        return
    ids = sorted(set(variant_ids))
    for start in range(0, len(ids), WRITE_CHUNK):
        session.execute(
            sa.select(StockPosition.variant_id)
            .where(StockPosition.variant_id == sa.any_(_array(ids[start : start + WRITE_CHUNK], sa.Integer)))
            .order_by(StockPosition.variant_id)
            .with_for_update()
        ).all()


def _array(
    values: Sequence[object], item_type: type[sa.types.TypeEngine] | sa.types.TypeEngine
) -> sa.BindParameter:
    """Bind a list as one PostgreSQL array parameter (one value to send, parse and plan, not one per item)."""
    return sa.bindparam(None, list(values), type_=postgresql.ARRAY(item_type))


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
    postgres = is_postgres(session)
    if also_lock or postgres:
        # On PostgreSQL the set-based writes below take row locks in plan order, not id order.
        lock_positions(session, [*changed, *also_lock])
    by_shape: dict[tuple[str, ...], list[tuple[int, dict]]] = defaultdict(list)
    ledger: list[tuple[int, dict]] = []
    for variant_id, values, diff in sorted(plan.changes, key=lambda change: change[0]):
        by_shape[tuple(sorted(values))].append((variant_id, values))
        if diff:
            ledger.append((variant_id, diff))
    write_positions = _update_positions_postgres if postgres else _update_positions
    write_ledger = _insert_ledger_postgres if postgres else _insert_ledger
    for names, group in by_shape.items():
        for start in range(0, len(group), WRITE_CHUNK):
            write_positions(session, names, group[start : start + WRITE_CHUNK], now=now)
    for start in range(0, len(ledger), WRITE_CHUNK):
        write_ledger(session, ledger[start : start + WRITE_CHUNK], at=now, feed_run_id=feed_run_id)
    if full:
        record_full_snapshot(session, vendor_id=vendor_id, as_of=as_of, feed_run_id=feed_run_id, now=now)
    return changed


_POSITIONS = StockPosition.__table__
_LEDGER = StockLedgerEntry.__table__
_REPORTED_TYPES: dict[str, sa.types.TypeEngine] = {
    "quantity": sa.Integer(),
    "damaged": sa.Integer(),
    "pending_inspection": sa.Integer(),
    "incoming": sa.Integer(),
    "incoming_eta": sa.Date(),
    "basis": sa.String(),
    "as_of": sa.DateTime(timezone=True),
}


def _update_positions(
    session: Session, names: tuple[str, ...], group: Sequence[tuple[int, dict]], *, now: dt.datetime
) -> None:
    stmt = (
        _POSITIONS.update()
        .where(_POSITIONS.c.variant_id == sa.bindparam("variant_id_"))
        .values({**{name: sa.bindparam(name) for name in names}, "updated_at": sa.bindparam("updated_at_")})
    )
    session.execute(stmt, [{"variant_id_": vid, "updated_at_": now, **values} for vid, values in group])


def _update_positions_postgres(
    session: Session, names: tuple[str, ...], group: Sequence[tuple[int, dict]], *, now: dt.datetime
) -> None:
    """One UPDATE ... FROM unnest(arrays) per chunk instead of one statement per position.

    A column with one value for the whole chunk (the feed's as_of, an unchanged basis) is sent
    once rather than as an array.
    """
    per_row: dict[str, list] = {}
    same: dict[str, object] = {}
    for name in names:
        values = [row[name] for _, row in group]
        if values.count(values[0]) == len(values):
            same[name] = values[0]
        else:
            per_row[name] = values
    arrays = [_array([vid for vid, _ in group], sa.Integer)]
    arrays += [_array(values, _REPORTED_TYPES[name]) for name, values in per_row.items()]
    rows = sa.func.unnest(*arrays).table_valued("variant_id", *per_row).render_derived(name="v")
    assignments = {name: rows.c[name] for name in per_row}
    assignments.update({name: sa.literal(value, _REPORTED_TYPES[name]) for name, value in same.items()})
    session.execute(
        _POSITIONS.update()
        .where(_POSITIONS.c.variant_id == rows.c.variant_id)
        .values({**assignments, "updated_at": now})
    )


def _insert_ledger(
    session: Session, entries: Sequence[tuple[int, dict]], *, at: dt.datetime, feed_run_id: int | None
) -> None:
    session.execute(
        _LEDGER.insert(),
        [
            {"variant_id": vid, "at": at, "reason": "feed", "changes": diff, "feed_run_id": feed_run_id}
            for vid, diff in entries
        ],
    )


def _insert_ledger_postgres(
    session: Session, entries: Sequence[tuple[int, dict]], *, at: dt.datetime, feed_run_id: int | None
) -> None:
    """One INSERT ... SELECT FROM unnest(arrays) per chunk instead of one row per statement."""
    rows = (
        sa.func.unnest(
            _array([vid for vid, _ in entries], sa.Integer),
            _array([json.dumps(diff) for _, diff in entries], sa.Text),
        )
        .table_valued("variant_id", "changes")
        .render_derived(name="v")
    )
    select = sa.select(
        rows.c.variant_id,
        sa.literal(at, _LEDGER.c.at.type),
        sa.literal("feed"),
        sa.cast(rows.c.changes, postgresql.JSON),
        sa.literal(feed_run_id, sa.Integer),
    )
    session.execute(
        _LEDGER.insert().from_select(["variant_id", "at", "reason", "changes", "feed_run_id"], select)
    )


def record_full_snapshot(
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
