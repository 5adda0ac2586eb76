"""Purchase orders routed to the vendor: list, acknowledge, reject, ship, cancel."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.flags.hooks import Refusal, hold_period
from network.orders import queries, services
from network.orders.services import LineQuantity
from vendor_portal.api.common import vendor as vendor_guard
from vendor_portal.api.order_schemas import (
    AcknowledgeSchema,
    CancelSchema,
    PurchaseOrderListArgs,
    PurchaseOrderListSchema,
    PurchaseOrderSchema,
    RejectSchema,
    ShipmentCreateSchema,
    ShipmentSchema,
)

blp = Blueprint(
    "vendor_purchase_orders",
    __name__,
    url_prefix="/vendor-api/v1/purchase-orders",
    description="Purchase orders",
)


def vendor(scope: str):
    return vendor_guard(blp, scope)


def _lines(body: dict) -> list[LineQuantity] | None:
    if "lines" not in body:
        return None
    return [LineQuantity(line["line_id"], line["quantity"]) for line in body["lines"]]


def _refusal(body: dict) -> Refusal:
    return Refusal(code=body.get("reason_code"), hold_for=hold_period(current_app.config))


def _reloaded(po_id: int):
    return queries.get_purchase_order(db.session, po_id, vendor_id=current_caller().org_id)


@blp.get("")
@vendor("purchase_orders:read")
@blp.arguments(PurchaseOrderListArgs, location="query")
@blp.response(200, PurchaseOrderListSchema)
def list_purchase_orders(args: dict):
    """List purchase orders routed to this vendor (`status` filters), oldest first"""
    pos = queries.list_purchase_orders(
        db.session,
        vendor_id=current_caller().org_id,
        status=args.get("status"),
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(pos, last_position=pos[-1].id if pos else None, full=len(pos) == args["limit"])


@blp.get("/<int:po_id>")
@vendor("purchase_orders:read")
@blp.response(200, PurchaseOrderSchema)
def get_purchase_order(po_id: int):
    """Show a purchase order with its lines and shipments"""
    return _reloaded(po_id)


@blp.post("/<int:po_id>/acknowledge")
@vendor("purchase_orders:write")
@blp.arguments(AcknowledgeSchema)
@blp.response(200, PurchaseOrderSchema)
def acknowledge(body: dict, po_id: int):
    """Accept lines (all live lines if none are given); a lower quantity rejects the rest of a line"""
    with transaction(db.session):
        services.acknowledge(
            db.session, vendor_id=current_caller().org_id, po_id=po_id, lines=_lines(body), now=utcnow()
        )
    return _reloaded(po_id)


@blp.post("/<int:po_id>/reject")
@vendor("purchase_orders:write")
@blp.arguments(RejectSchema)
@blp.response(200, PurchaseOrderSchema)
def reject(body: dict, po_id: int):
    """Refuse units of lines not yet acknowledged (all open lines if none are given)"""
    with transaction(db.session):
        services.reject(
            db.session,
            vendor_id=current_caller().org_id,
            po_id=po_id,
            lines=_lines(body),
            reason=body["reason"],
            now=utcnow(),
            refusal=_refusal(body),
        )
    return _reloaded(po_id)


@blp.post("/<int:po_id>/shipments")
@vendor("purchase_orders:write")
@blp.arguments(ShipmentCreateSchema)
@blp.response(201, ShipmentSchema)
def create_shipment(body: dict, po_id: int):
    """Ship units of lines, fully or partly, with carrier and tracking number"""
    with transaction(db.session):
        shipment = services.ship(
            db.session,
            vendor_id=current_caller().org_id,
            po_id=po_id,
            carrier=body["carrier"],
            tracking_number=body["tracking_number"],
            lines=_lines(body),
            now=utcnow(),
        )
    return shipment


@blp.post("/<int:po_id>/cancel")
@vendor("purchase_orders:write")
@blp.arguments(CancelSchema)
@blp.response(200, PurchaseOrderSchema)
def cancel(body: dict, po_id: int):
    """Cancel unshipped units (all of them if no lines are given)"""
    with transaction(db.session):
        services.cancel_by_vendor(
            db.session,
            vendor_id=current_caller().org_id,
            po_id=po_id,
            lines=_lines(body),
            reason=body["reason"],
            now=utcnow(),
            refusal=_refusal(body),
        )
    return _reloaded(po_id)
