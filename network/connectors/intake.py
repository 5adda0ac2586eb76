"""Orders in: a platform's order webhook (or a polled order) becomes a hub order, once.

The platform's order id is the idempotency key (a ConnectorOrder row, unique per connector), so a
redelivered webhook, an orders/updated after orders/create, or the poller finding an order the
webhook already brought, creates nothing. Lines map to retailer items by SKU, or by the listing's
platform variant id where the SKU is empty; lines of products the hub does not source are left to
the merchant and recorded; the rest go through `place_order` exactly as `POST /api/v1/orders`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from network.catalog.models import RetailerItem
from network.catalog.skus import normal_sku
from network.connectors.events import ConnectorOrderUnfilled
from network.connectors.models import (
    CANCELLED,
    IGNORED,
    PLACED,
    UNFILLED,
    Connector,
    ConnectorListing,
    ConnectorOrder,
)
from network.connectors.platform import CANCEL, PlatformLine, PlatformOrder
from network.errors import IllegalTransition, InvalidInput
from network.orders.placement import LineInput, place_order
from network.orders.services import cancel_by_retailer
from network.outbox.services import record_many


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a webhook did: `created` is False for a repeat (nothing changed)."""

    created: bool
    status: str
    order_id: int | None


def receive(
    session: Session, connector: Connector, kind: str, order: PlatformOrder, *, now: dt.datetime
) -> Outcome:
    """Take one platform order in; the caller holds the transaction."""
    existing = session.scalar(
        sa.select(ConnectorOrder).where(
            ConnectorOrder.connector_id == connector.id,
            ConnectorOrder.platform_order_id == order.platform_order_id,
        )
    )
    cancelling = kind == CANCEL or order.cancelled
    if existing is not None:
        if cancelling and existing.status != CANCELLED:
            _cancel(session, connector, existing, now=now)
            return Outcome(True, existing.status, existing.order_id)
        return Outcome(False, existing.status, existing.order_id)
    record = ConnectorOrder(
        connector_id=connector.id,
        platform_order_id=order.platform_order_id,
        platform_order_name=order.name,
        status=CANCELLED if cancelling else IGNORED,
        received_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent redelivery took the key first: nothing to do
            session.add(record)
            session.flush()
    except IntegrityError:
        session.expunge(record) if record in session else None
        return Outcome(False, "duplicate", None)
    if cancelling:  # cancelled before the hub saw it: remember, so a late create adds nothing
        return Outcome(True, CANCELLED, None)
    _place(session, connector, record, order, now=now)
    return Outcome(True, record.status, record.order_id)


def _place(
    session: Session, connector: Connector, record: ConnectorOrder, order: PlatformOrder, *, now: dt.datetime
) -> None:
    mapped, ignored = map_lines(session, connector, order.lines)
    record.ignored_lines = ignored
    if not mapped:
        record.status = IGNORED
        return
    # The customer has paid: take what can be filled, and keep the order even when nothing can
    # be, so the lines short are flagged `unfillable` on it at once (network/flags/unfillable.py).
    placed = place_order(
        session,
        retailer_id=connector.retailer_id,
        reference=f"{connector.platform}:{order.name or order.platform_order_id}"[:100],
        lines=[LineInput(sku, line.quantity) for sku, line in mapped],
        ship_to=order.ship_to,
        allow_partial=True,
        allow_split=True,
        keep_unfilled=True,
        now=now,
    )
    record.status = PLACED if any(line.accepted for line in placed.lines) else UNFILLED
    record.order_id = placed.id
    record.line_map = {
        str(order_line.id): line.platform_line_id
        for order_line, (_, line) in zip(placed.lines, mapped, strict=True)
    }
    record.unfilled_lines = [
        {
            "retailer_sku": ol.retailer_sku,
            "requested": ol.requested,
            "available": ol.accepted,
            "line_id": ol.id,
        }
        for ol in placed.lines
        if ol.accepted < ol.requested
    ]
    if record.unfilled_lines:
        _announce_unfilled(session, connector, record, now=now)


def map_lines(
    session: Session, connector: Connector, lines: Sequence[PlatformLine]
) -> tuple[list[tuple[str, PlatformLine]], list[dict]]:
    """Return (retailer sku, line) for the lines the hub sources, and the others with their reason."""
    by_variant = dict(
        session.execute(
            sa.select(ConnectorListing.platform_variant_id, ConnectorListing.retailer_sku).where(
                ConnectorListing.connector_id == connector.id,
                ConnectorListing.platform_variant_id.in_(
                    sorted({ln.variant_id for ln in lines if ln.variant_id})
                ),
            )
        ).all()
    )
    wanted: list[tuple[str | None, PlatformLine]] = []
    for line in lines:
        sku = None
        if line.sku:
            try:
                sku = normal_sku(line.sku)
            except InvalidInput:
                sku = None
        elif line.variant_id:
            sku = by_variant.get(line.variant_id)
        wanted.append((sku, line))
    known = set(
        session.scalars(
            sa.select(RetailerItem.retailer_sku).where(
                RetailerItem.retailer_id == connector.retailer_id,
                RetailerItem.retailer_sku.in_(sorted({sku for sku, _ in wanted if sku})),
            )
        )
    )
    mapped, ignored = [], []
    for sku, line in wanted:
        if line.quantity <= 0:
            continue  # a removed or fully refunded line: nothing to send
        if sku in known:
            mapped.append((sku, line))
        else:
            ignored.append(
                {
                    "platform_line_id": line.platform_line_id,
                    "sku": line.sku,
                    "variant_id": line.variant_id,
                    "quantity": line.quantity,
                    "reason": "no_sku_or_listing" if not line.sku and sku is None else "not_sourced",
                }
            )
    return mapped, ignored


def _announce_unfilled(
    session: Session, connector: Connector, record: ConnectorOrder, *, now: dt.datetime
) -> None:
    event = ConnectorOrderUnfilled(
        connector_id=connector.id,
        platform_order_id=record.platform_order_id,
        order_id=record.order_id,
        lines=record.unfilled_lines,
    )
    record_many(session, [(connector.retailer_id, f"connector:{connector.id}", event)], now=now)


def _cancel(session: Session, connector: Connector, record: ConnectorOrder, *, now: dt.datetime) -> None:
    """Cancel the hub order's unshipped units; the vendors hear it through po.cancelled."""
    if record.order_id is not None:
        # Everything already shipped or cancelled: nothing left to stop. The lines' `unfillable`
        # flags clear with the cancellation (network/flags/unfillable.py).
        with contextlib.suppress(IllegalTransition):
            cancel_by_retailer(
                session,
                retailer_id=connector.retailer_id,
                order_id=record.order_id,
                lines=None,
                reason=f"cancelled on {connector.platform}",
                now=now,
            )
    record.status = CANCELLED
    record.updated_at = now
