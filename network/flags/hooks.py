"""What other areas call, in their own transactions: after a purchase-order transition, after a snapshot.

- `after_transition` (connected to network.orders.changes.transitioned, once per transition):
  a vendor's reject or cancel raises `vendor_rejected` / `vendor_cancelled` (with the lead time of the warnings that
  came before it), puts the variant on hold if the vendor lacked stock the hub had on record,
  and reroutes the refused units where the retailer allows; any transition clears the flags
  its new state answers (acknowledged, shipped, cancelled) and shortfalls it covers.
- `after_snapshot` (network/feeds/services.py, right after the in-flight recompute): holds the
  new count confirms are lifted, shortfalls and likely_short flags raised and cleared, stale-feed
  flags cleared, and the newly flagged lines rerouted where the retailer allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.flags import evaluation, holds, likely_short, reroute
from network.flags import services as flags
from network.flags.models import VENDOR_CANCELLED, VENDOR_REJECTED
from network.orders import reroute as order_reroute
from network.orders.changes import transitioned
from network.orders.models import PurchaseOrder
from network.stock.models import StockPosition

OUT_OF_STOCK = "out_of_stock"
# Why a vendor refuses units (optional in the reject and cancel bodies, chosen in the portal's
# forms); only a lack of stock the hub had on record puts the variant on hold.
REFUSAL_REASONS = {
    OUT_OF_STOCK: "Out of stock",
    "discontinued": "Discontinued",
    "price_error": "Price error",
    "address_problem": "Problem with the address",
    "other": "Other",
}
# Codes of version 1.0, still accepted by the API.
LEGACY_REASON_CODES = ("damaged", "address", "pricing")
REASON_CODES = (*REFUSAL_REASONS, *LEGACY_REASON_CODES)


@dataclass(frozen=True)
class Refusal:
    """What a vendor said about refused units, and how long the hub remembers an oversell."""

    code: str | None = None
    hold_for: dt.timedelta = holds.DEFAULT_HOLD


def hold_period(config: Mapping[str, object]) -> dt.timedelta:
    """How long an oversell hold lasts: HUB_OVERSELL_HOLD_HOURS (default 24)."""
    return dt.timedelta(hours=float(config.get("HUB_OVERSELL_HOLD_HOURS") or 24))


@transitioned.connect
def after_transition(
    session: Session,
    po: PurchaseOrder,
    changes: Sequence[Mapping],
    reasons: Mapping[int, str],
    *,
    actor_org_id: int,
    refusal: Refusal | None,
    now: dt.datetime,
) -> None:
    """Flag, hold, reroute and clear after a transition of some of a purchase order's lines."""
    if not changes:
        return
    lines = {line.id: line for line in po.lines}
    by_vendor = actor_org_id == po.vendor_id
    refused = []
    for change in changes:
        if by_vendor and change["action"] in ("reject", "cancel"):
            line = lines[change["line_id"]]
            kind = VENDOR_REJECTED if change["action"] == "reject" else VENDOR_CANCELLED
            refused.append((line, kind, change["quantity"]))
    for line, kind, quantity in refused:
        reason = reasons.get(line.id, "")
        lead = flags.note_refusal(session, line.id, now=now)
        code = refusal.code if refusal else None
        detail = {"quantity": quantity, "reason": reason, "reason_code": code}
        flags.raise_flag(
            session, flags.line_ref(line), kind=kind, now=now, detail=detail, lead_time_seconds=lead
        )
        if code == OUT_OF_STOCK:
            _remember_oversell(session, line, reason=reason, hold_for=refusal.hold_for, now=now)
    touched = sorted({change["line_id"] for change in changes})
    variants = sorted({lines[line_id].variant_id for line_id in touched})
    # Most transitions (a shipment, an acknowledgement) touch lines with no open flag, on positions
    # that are not short: one statement says so, instead of the three that would find nothing.
    if refused or evaluation.may_clear_or_fall_short(
        session, line_ids=touched, vendor_id=po.vendor_id, variant_ids=variants
    ):
        evaluation.clear_settled(session, touched, now=now)
        evaluation.check_shortfall(session, vendor_id=po.vendor_id, variant_ids=variants, now=now)
    for line, _kind, quantity in refused:
        if order_reroute.allowed(session, line):
            reroute.reroute(session, line, quantity=quantity, release=False, now=now)


def _remember_oversell(
    session: Session, line, *, reason: str, hold_for: dt.timedelta, now: dt.datetime
) -> None:  # noqa: ANN001
    """Hold the variant if the hub still had units on record that the vendor says it does not have."""
    on_record = session.scalar(
        sa.select(StockPosition.quantity).where(StockPosition.variant_id == line.variant_id)
    )
    if on_record:
        holds.place_hold(
            session,
            variant_id=line.variant_id,
            po_line_id=line.id,
            quantity_on_record=on_record,
            reason=reason or OUT_OF_STOCK,
            hold_for=hold_for,
            now=now,
        )


def after_snapshot(session: Session, *, vendor_id: int, now: dt.datetime) -> None:
    """Bring the vendor's holds and flags in line with the count just applied."""
    holds.lift_confirmed(session, vendor_id=vendor_id, now=now)
    raised = evaluation.check_shortfall(session, vendor_id=vendor_id, now=now)
    evaluation.clear_fresh(session, vendor_id=vendor_id, now=now)
    raised += likely_short.check(session, vendor_id=vendor_id, now=now)
    if raised:
        evaluation.reroute_flagged(session, now=now, flagged=raised)
