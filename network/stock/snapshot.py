"""Diff a vendor's reported counts against its positions: the pure half of applying a feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from network.stock.rows import FeedRow, RowError
from network.stock.rules import effective_as_of

REPORTED = ("quantity", "damaged", "pending_inspection", "incoming", "incoming_eta", "basis")


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position as the vendor last reported it."""

    variant_id: int
    quantity: int
    damaged: int
    pending_inspection: int
    incoming: int
    incoming_eta: dt.date | None
    basis: str
    as_of: dt.datetime | None  # effective: the row's own or the last full snapshot's, whichever is later


@dataclass(frozen=True, slots=True)
class CountMove:
    """A position's quantity moved by a count: what the depletion model learns from (issue 18)."""

    variant_id: int
    before: int
    after: int
    since: dt.datetime | None  # when `before` was last confirmed
    at: dt.datetime  # the moment of the count that moved it


@dataclass
class SnapshotPlan:
    """What applying a feed would do; nothing is written until the plan is carried out."""

    # (variant_id, new values, ledger diff); an empty diff only moves the row's as_of
    changes: list[tuple[int, dict, dict]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    applied: int = 0
    positive_before: int = 0
    zeroed: int = 0  # positions going from positive to zero
    moves: list[CountMove] = field(default_factory=list)

    @property
    def changed_variant_ids(self) -> list[int]:
        return sorted(variant_id for variant_id, _, _ in self.changes)


def plan_snapshot(
    current: Mapping[str, PositionView],
    rows: Iterable[FeedRow],
    *,
    full: bool,
    basis: str,
    as_of: dt.datetime,
) -> SnapshotPlan:
    """Return the changes that reported rows make to current positions (keyed by vendor sku).

    Rows of unknown skus, and rows older than the count already held, are rejected. A full feed
    also zeroes every sku it omits, unless the sku's count is newer than the feed; a sku whose row
    was rejected keeps its count, since a broken row says nothing about the stock.
    """
    plan = SnapshotPlan()
    seen: set[str] = set()
    for row in rows:
        seen.add(row.sku)
        plan_row(plan, current.get(row.sku), row, full=full, basis=basis, as_of=as_of)
    if full:
        for sku, pos in current.items():
            if sku not in seen:
                plan_omitted(plan, pos, as_of)
    plan.positive_before = sum(1 for pos in current.values() if pos.quantity > 0)
    return plan


def plan_row(
    plan: SnapshotPlan,
    pos: PositionView | None,
    row: FeedRow,
    *,
    full: bool,
    basis: str,
    as_of: dt.datetime,
) -> None:
    """Add what one reported row does to its position (None: an unknown sku) to the plan."""
    if pos is None:
        plan.errors.append(RowError(row.line, row.sku, "unknown sku: create the variant first"))
        return
    row_as_of = row.as_of or as_of
    if pos.as_of is not None and row_as_of < pos.as_of:
        plan.errors.append(
            RowError(
                row.line, row.sku, f"superseded: a count as of {pos.as_of.isoformat()} is already applied"
            )
        )
        return
    plan.applied += 1
    damaged = pos.damaged if row.damaged is None else row.damaged
    pending = pos.pending_inspection if row.pending_inspection is None else row.pending_inspection
    incoming = pos.incoming if row.incoming is None else row.incoming
    eta = pos.incoming_eta if row.incoming_eta is None else row.incoming_eta
    if (
        row.quantity == pos.quantity
        and damaged == pos.damaged
        and pending == pos.pending_inspection
        and incoming == pos.incoming
        and eta == pos.incoming_eta
        and basis == pos.basis
    ):
        # Most rows of a feed repeat the last count: they cost this comparison, not a write.
        # A delta row that changes nothing still confirms the count as of its time; in a
        # full feed the vendor's snapshot time does that for every row at once.
        if not full and pos.as_of != row_as_of:
            plan.changes.append((pos.variant_id, {"as_of": row_as_of}, {}))
        return
    new = {
        "quantity": row.quantity,
        "damaged": damaged,
        "pending_inspection": pending,
        "incoming": incoming,
        "incoming_eta": eta,
        "basis": basis,
    }
    _note(plan, pos, new, row_as_of, touch=not full)


def plan_omitted(plan: SnapshotPlan, pos: PositionView, as_of: dt.datetime) -> None:
    """Add to the plan what a full feed that leaves a position out does to it: zero it.

    A position counted after the feed's as-of keeps that newer count, as a row the feed carries
    with an older as-of is superseded: an as-of never moves backwards (orders.inflight relies on it).
    """
    if pos.as_of is not None and pos.as_of > as_of:
        return
    if pos.quantity:
        _note(plan, pos, {"quantity": 0, "basis": pos.basis}, as_of, touch=False)


def _note(plan: SnapshotPlan, pos: PositionView, new: dict, row_as_of: dt.datetime, *, touch: bool) -> None:
    diff = {}
    for name, value in new.items():
        old = getattr(pos, name)
        if old != value:
            diff[name] = [_jsonable(old), _jsonable(value)]
    if not diff:
        if touch and pos.as_of != row_as_of:
            plan.changes.append((pos.variant_id, {"as_of": row_as_of}, {}))
        return
    if pos.quantity > 0 and new.get("quantity", pos.quantity) == 0:
        plan.zeroed += 1
    if "quantity" in diff:
        plan.moves.append(CountMove(pos.variant_id, pos.quantity, new["quantity"], pos.as_of, row_as_of))
    values = {name: new[name] for name in diff}
    values["as_of"] = row_as_of
    plan.changes.append((pos.variant_id, values, diff))


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def position_view(row, snapshot_as_of: dt.datetime | None) -> PositionView:
    return PositionView(
        variant_id=row.variant_id,
        quantity=row.quantity,
        damaged=row.damaged,
        pending_inspection=row.pending_inspection,
        incoming=row.incoming,
        incoming_eta=row.incoming_eta,
        basis=row.basis,
        as_of=effective_as_of(row.as_of, snapshot_as_of),
    )
