"""Oversell memory: hold a variant at zero network-wide after its vendor refused units it had reported.

A hold is active while it is not lifted and its `until` is ahead. The availability read joins
active holds (network/availability/services.py), which is what makes a held source count zero
and keeps the router from choosing it. Placing or lifting a hold publishes the new figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.models import VariantHold
from network.availability.services import items_sourcing, publish_changes
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.errors import Forbidden, NotFound
from network.orders.models import PurchaseOrder, PurchaseOrderLine
from network.outbox.events import VariantHoldLifted, VariantHoldPlaced
from network.outbox.services import record_many
from network.partners import audit
from network.partners.audit import Actor
from network.stock import ledger
from network.stock.models import StockPosition, StockSnapshot
from network.stock.rules import effective_as_of

OVERSELL = "oversell"
DEFAULT_HOLD = dt.timedelta(hours=24)
# Who lifted a hold.
EXPIRED = "expired"
SNAPSHOT = "snapshot"
VENDOR = "vendor"
ACTIVE = "active"
LIFTED = "lifted"


def place_hold(
    session: Session,
    *,
    variant_id: int,
    po_line_id: int | None,
    quantity_on_record: int,
    reason: str,
    hold_for: dt.timedelta,
    now: dt.datetime,
) -> VariantHold:
    """Hold a variant at zero until `now + hold_for` (a hold already running is extended), tell its vendor.

    The caller holds the variant's position lock, which serializes holds of one variant.
    """
    until = now + hold_for
    hold = session.scalar(
        sa.select(VariantHold)
        .where(VariantHold.variant_id == variant_id, VariantHold.active_at(now))
        .limit(1)
    )
    if hold is not None:
        hold.until = max(hold.until, until)
    else:
        variant = session.get(VendorVariant, variant_id)
        hold = VariantHold(
            variant_id=variant_id,
            vendor_id=variant.vendor_id,
            reason=OVERSELL,
            po_line_id=po_line_id,
            detail={"reason": reason[:500], "quantity_on_record": quantity_on_record},
            placed_at=now,
            until=until,
        )
        session.add(hold)
    session.flush()
    variant = session.get(VendorVariant, variant_id)
    event = VariantHoldPlaced(
        hold_id=hold.id,
        vendor_variant_id=variant_id,
        vendor_sku=variant.vendor_sku,
        until=hold.until.isoformat(),
        reason=reason[:500],
        quantity_on_record=quantity_on_record,
    )
    record_many(session, [(hold.vendor_id, f"variant:{variant_id}", event)], now=now)
    ledger.note(
        session,
        variant_ids=[variant_id],
        reason="hold_placed",
        changes={"on_hold": [False, True]},
        ref={"hold_id": hold.id, "until": hold.until.isoformat()},
        at=now,
    )
    publish_changes(session, items_sourcing(session, [variant_id]), now=now)
    return hold


def lift(
    session: Session, holds: Sequence[VariantHold], *, by: str, by_org_id: int | None, now: dt.datetime
) -> list[VariantHold]:
    """Lift holds (each once, whoever races), tell the vendors, publish the figures; return those lifted."""
    table = VariantHold.__table__
    lifted = []
    for hold in holds:
        done = session.execute(
            table.update()
            .where(table.c.id == hold.id, table.c.lifted_at.is_(None))
            .values(lifted_at=now, lifted_by=by, lifted_by_org_id=by_org_id)
        ).rowcount
        if done:
            lifted.append(hold)
    if not lifted:
        return []
    for hold in lifted:
        session.refresh(hold)
    record_many(
        session,
        [
            (hold.vendor_id, f"variant:{hold.variant_id}", VariantHoldLifted(hold.id, hold.variant_id, by))
            for hold in lifted
        ],
        now=now,
    )
    for hold in lifted:
        ledger.note(
            session,
            variant_ids=[hold.variant_id],
            reason="hold_lifted",
            changes={"on_hold": [True, False]},
            ref={"hold_id": hold.id, "lifted_by": by},
            at=now,
        )
    publish_changes(session, items_sourcing(session, sorted({hold.variant_id for hold in lifted})), now=now)
    return lifted


def lift_confirmed(session: Session, *, vendor_id: int, now: dt.datetime) -> list[VariantHold]:
    """Lift the vendor's holds whose variant a count taken after the hold has reported."""
    rows = session.execute(
        sa.select(VariantHold, StockPosition.as_of, StockSnapshot.as_of)
        .join(StockPosition, StockPosition.variant_id == VariantHold.variant_id)
        .outerjoin(StockSnapshot, StockSnapshot.vendor_id == StockPosition.vendor_id)
        .where(VariantHold.vendor_id == vendor_id, VariantHold.lifted_at.is_(None))
    ).all()
    confirmed = [
        hold
        for hold, row_as_of, snapshot_as_of in rows
        if (as_of := effective_as_of(row_as_of, snapshot_as_of)) is not None and as_of > hold.placed_at
    ]
    return lift(session, confirmed, by=SNAPSHOT, by_org_id=None, now=now)


def expire_holds(session: Session, *, now: dt.datetime) -> list[VariantHold]:
    """Lift holds whose time ran out (the read already ignores them; this publishes and records it)."""
    due = list(
        session.scalars(
            sa.select(VariantHold)
            .where(VariantHold.lifted_at.is_(None), VariantHold.until <= now)
            .order_by(VariantHold.id)
        )
    )
    return lift(session, due, by=EXPIRED, by_org_id=None, now=now)


def lift_for_vendor(
    session: Session, *, vendor_id: int, variant_id: int, actor: Actor, now: dt.datetime
) -> HoldView:
    """The vendor vouches for its stock again. Raises NotFound (not its variant, or nothing held)."""
    hold = session.scalar(
        sa.select(VariantHold)
        .where(
            VariantHold.variant_id == variant_id,
            VariantHold.vendor_id == vendor_id,
            VariantHold.active_at(now),
        )
        .order_by(VariantHold.id.desc())
        .limit(1)
    )
    if hold is None:
        raise NotFound(f"no active hold on variant {variant_id}")
    if not lift(session, [hold], by=VENDOR, by_org_id=vendor_id, now=now):
        raise NotFound(f"no active hold on variant {variant_id}")
    view = _view(session, hold, now)
    audit.record(
        session,
        org_id=vendor_id,
        actor=actor,
        action="hold.lifted",
        subject=f"variant {view.vendor_sku}",
        before={"held": True, "reason": hold.reason, "until": hold.until.isoformat()},
        after={"held": False},
        now=now,
    )
    return view


def _sourced_by(retailer_id: int) -> sa.ColumnElement[bool]:
    return VariantHold.variant_id.in_(
        sa.select(ItemSource.variant_id)
        .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
        .where(RetailerItem.retailer_id == retailer_id)
    )


def refuse_retailer_lift(session: Session, *, retailer_id: int, hold_id: int) -> None:
    """A retailer cannot lift a hold: it holds the variant at zero for every retailer of the vendor.

    Lifting it would let one retailer expose the others to the oversell the hold guards against
    (DESIGN.md: an organization touches only its own rows). The vendor lifts it, or its next count.
    Raises NotFound (not a variant the retailer sources), Forbidden.
    """
    if (
        session.scalar(sa.select(VariantHold.id).where(VariantHold.id == hold_id, _sourced_by(retailer_id)))
        is None
    ):
        raise NotFound(f"hold {hold_id} not found")
    raise Forbidden(
        f"hold {hold_id} protects every retailer of its vendor: only the vendor lifts it "
        "(DELETE /vendor-api/v1/holds/{variant_id}), or its next stock count does"
    )


def is_active(hold: VariantHold, now: dt.datetime) -> bool:
    return hold.lifted_at is None and hold.until > now


@dataclass(frozen=True)
class HoldView:
    hold: VariantHold
    vendor_sku: str
    active: bool
    # What the reader may see of the hold's detail: a retailer sees the vendor's free-text reason
    # only when the refused line was on its own purchase order.
    detail: dict


def _view(session: Session, hold: VariantHold, now: dt.datetime) -> HoldView:
    sku = session.get(VendorVariant, hold.variant_id).vendor_sku
    return HoldView(hold, sku, is_active(hold, now), dict(hold.detail or {}))


def _detail_for(hold: VariantHold, *, own: bool) -> dict:
    detail = dict(hold.detail or {})
    if not own:
        detail.pop("reason", None)
    return detail


def _list(
    session: Session,
    where: sa.ColumnElement[bool],
    *,
    retailer_id: int | None,
    status: str | None,
    after_id: int,
    limit: int,
    now: dt.datetime,
) -> list[HoldView]:
    """Holds matching `where`; for a retailer (`retailer_id`), with the detail it may see."""
    query = (
        sa.select(VariantHold, VendorVariant.vendor_sku, PurchaseOrder.retailer_id)
        .join(VendorVariant, VendorVariant.id == VariantHold.variant_id)
        .outerjoin(PurchaseOrderLine, PurchaseOrderLine.id == VariantHold.po_line_id)
        .outerjoin(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
        .where(where, VariantHold.id > after_id)
    )
    if status == ACTIVE:
        query = query.where(VariantHold.active_at(now))
    elif status == LIFTED:
        query = query.where(sa.not_(VariantHold.active_at(now)))
    rows = session.execute(query.order_by(VariantHold.id).limit(limit)).all()
    return [
        HoldView(hold, sku, is_active(hold, now), _detail_for(hold, own=retailer_id in (None, po_retailer)))
        for hold, sku, po_retailer in rows
    ]


def list_for_vendor(
    session: Session, *, vendor_id: int, status: str | None, after_id: int, limit: int, now: dt.datetime
) -> list[HoldView]:
    return _list(
        session,
        VariantHold.vendor_id == vendor_id,
        retailer_id=None,
        status=status,
        after_id=after_id,
        limit=limit,
        now=now,
    )


def list_for_retailer(
    session: Session, *, retailer_id: int, status: str | None, after_id: int, limit: int, now: dt.datetime
) -> list[HoldView]:
    """Holds on variants the retailer's items source; the reason only of its own refused lines."""
    return _list(
        session,
        _sourced_by(retailer_id),
        retailer_id=retailer_id,
        status=status,
        after_id=after_id,
        limit=limit,
        now=now,
    )
