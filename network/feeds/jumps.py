"""Guard against a misplaced period (DESIGN §15): rows whose quantity jumps far beyond the variant's
history are taken out of a feed and held in a run of their own for the vendor to confirm; the
rest of the file applies."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.feeds import models as m
from network.feeds.parsing import FeedFormat
from network.outbox.events import FeedHeld
from network.outbox.services import record
from network.partners.guards import GuardLimits
from network.stock.models import StockLedgerEntry
from network.stock.rows import FeedRow
from network.stock.snapshot import SnapshotPlan

# How many of a variant's past counts make its history.
HISTORY_ENTRIES = 50
HISTORY_CHUNK = 1000
HELD_FORMAT = FeedFormat(kind="csv", delimiter=",")
COLUMNS = ("sku", "quantity", "damaged", "pending_inspection", "incoming", "incoming_eta", "as_of")


def is_jump(reference: int, quantity: int, limits: GuardLimits) -> bool:
    """Tell whether `quantity` is far beyond `reference`, the variant's highest count on record:
    more than `quantity_factor` times it and more than `quantity_floor` units above it."""
    return quantity > limits.quantity_factor * reference and quantity - reference > limits.quantity_floor


@dataclass(frozen=True)
class Jump:
    variant_id: int
    row: FeedRow
    reference: int

    def reason(self, limits: GuardLimits) -> str:
        return (
            f"{self.row.sku}: {self.row.quantity} is more than {limits.quantity_factor}× its highest count "
            f"of {self.reference} and over {limits.quantity_floor} units more"
        )


def find_jumps(
    session: Session, *, vendor_id: int, rows: Sequence[FeedRow], plan: SnapshotPlan, limits: GuardLimits
) -> list[Jump]:
    """The planned quantity changes that jump beyond their variant's history.

    A variant that never had a count has no history to compare with: its first count is not held.
    """
    if not limits.enabled:
        return []
    candidates = {}
    for variant_id, _, diff in plan.changes:
        pair = diff.get("quantity")
        if pair and is_jump(pair[0], pair[1], limits):
            candidates[variant_id] = pair[0]
    if not candidates:
        return []
    history = _highest_counts(session, sorted(candidates))
    # No count on record yet (a first load): nothing to compare with, so nothing is held.
    jumped = {
        variant_id: max(current, history[variant_id])
        for variant_id, current in candidates.items()
        if variant_id in history
    }
    if not jumped:
        return []
    skus = dict(
        session.execute(
            sa.select(VendorVariant.id, VendorVariant.vendor_sku).where(VendorVariant.id.in_(sorted(jumped)))
        ).all()
    )
    by_sku = {row.sku: row for row in rows}
    found = []
    for variant_id, reference in sorted(jumped.items()):
        row = by_sku.get(skus.get(variant_id, ""))
        if row is not None and is_jump(reference, row.quantity, limits):
            found.append(Jump(variant_id, row, reference))
    return found


def _highest_counts(session: Session, variant_ids: list[int]) -> dict[int, int]:
    """Each variant's highest quantity over its last counts in the ledger (variants with none are absent).

    One query per thousand variants (a first load of a big catalog makes every row a candidate,
    and finds no history at all).
    """
    highest: dict[int, int] = {}
    for start in range(0, len(variant_ids), HISTORY_CHUNK):
        chunk = variant_ids[start : start + HISTORY_CHUNK]
        recent = (
            sa.select(
                StockLedgerEntry.variant_id,
                StockLedgerEntry.changes,
                sa.func.row_number()
                .over(partition_by=StockLedgerEntry.variant_id, order_by=StockLedgerEntry.id.desc())
                .label("n"),
            )
            .where(StockLedgerEntry.variant_id.in_(chunk), StockLedgerEntry.reason == "feed")
            .subquery()
        )
        rows = session.execute(
            sa.select(recent.c.variant_id, recent.c.changes).where(recent.c.n <= HISTORY_ENTRIES)
        )
        for variant_id, changes in rows:
            counts = [value for value in (changes or {}).get("quantity") or [] if value is not None]
            if counts:
                highest[variant_id] = max(highest.get(variant_id, 0), *counts)
    return highest


def take_out(plan: SnapshotPlan, jumps: Sequence[Jump]) -> None:
    """Remove the jumped rows' changes from a plan, so that the rest applies without them."""
    held = {jump.variant_id for jump in jumps}
    plan.changes = [change for change in plan.changes if change[0] not in held]
    plan.moves = [move for move in plan.moves if move.variant_id not in held]
    plan.applied -= len(held)


def hold_jumps(
    session: Session,
    parent: m.FeedRun,
    jumps: Sequence[Jump],
    *,
    limits: GuardLimits,
    now: dt.datetime,
) -> m.FeedRun:
    """Record the jumped rows as a held delta run of their own (its file: those rows) and tell the vendor."""
    reasons = "; ".join(jump.reason(limits) for jump in jumps)
    message = (
        f"held from feed run {parent.id}: {reasons}. A misplaced period? Apply it if the count is right, "
        "or discard it"
    )
    run = m.FeedRun(
        vendor_id=parent.vendor_id,
        feed_id=parent.feed_id,
        transport=parent.transport,
        format="csv",
        mode="delta",
        basis=parent.basis,
        status=m.HELD,
        content_hash=parent.content_hash,  # re-sending the parent's file is not a new count
        as_of=parent.as_of,
        rows_seen=len(jumps),
        errors=[],
        hold_reason=m.HOLD_QUANTITY_JUMP,
        message=message,
        format_settings={"kind": "csv", "delimiter": ","},
        received_at=now,
        finished_at=now,
        duration_ms=0,
    )
    session.add(run)
    session.flush()
    data = _csv([jump.row for jump in jumps])
    session.add(
        m.FeedRunPayload(run_id=run.id, content_type="text/csv", size=len(data), gzipped=gzip.compress(data))
    )
    event = FeedHeld(
        feed_run_id=run.id,
        feed_id=run.feed_id,
        hold_reason=run.hold_reason,
        message=message,
        rows_seen=len(jumps),
    )
    record(session, org_id=run.vendor_id, event=event, key=f"feed-run:{run.id}", now=now)
    return run


def _csv(rows: Sequence[FeedRow]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.sku,
                row.quantity,
                *(
                    "" if value is None else value
                    for value in (row.damaged, row.pending_inspection, row.incoming)
                ),
                "" if row.incoming_eta is None else row.incoming_eta.isoformat(),
                "" if row.as_of is None else row.as_of.isoformat(),
            ]
        )
    return text.getvalue().encode()
