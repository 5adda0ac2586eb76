"""Orders: placement (idempotent), reading, cancelling unshipped units, opening returns."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.pagination import PageArgs, decode_cursor, page
from api_common.problems import PROBLEM_TYPE_BASE
from network.clock import utcnow
from network.db import transaction
from network.errors import OutOfStock
from network.extensions import db
from network.flags import reroute
from network.idempotency.services import check_key
from network.orders import by_hand, queries, returns
from network.orders.placement import LineInput, place_order
from network.orders.services import LineQuantity
from network.partners.audit import Actor
from retailer_api.idempotent import respond_once
from retailer_api.order_schemas import (
    OrderCancelSchema,
    OrderCreateSchema,
    OrderListSchema,
    OrderSchema,
    RerouteSchema,
    ReturnCreatedSchema,
    ReturnCreateSchema,
    order_body,
)

blp = Blueprint("orders", __name__, url_prefix="/api/v1/orders", description="Orders")

IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    # Not blank (network.idempotency.services.check_key): at least one non-space character.
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
    "description": "a repeat with the same key and body returns the first answer and creates nothing",
}


# One instance for every order: given the class, webargs built the schema and its nested ones
# (deep copies of their fields) on every request.
ORDER_CREATE = OrderCreateSchema()


@blp.post("")
@secured(blp, "orders:write")
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
@blp.arguments(ORDER_CREATE)
@blp.response(201, OrderSchema)
@blp.alt_response(409, description="Not enough stock: `lines` says the shortfall per line; nothing reserved")
def create_order(body: dict):
    """Place an order: route each line, reserve its units, create one purchase order per vendor"""
    caller, now = current_caller(), utcnow()
    key = check_key(request.headers.get("Idempotency-Key"))

    def handle() -> tuple[int, dict]:
        try:
            order = place_order(
                db.session,
                retailer_id=caller.org_id,
                reference=body["reference"],
                lines=[LineInput(line["retailer_sku"], line["quantity"]) for line in body["lines"]],
                ship_to=body["ship_to"],
                allow_partial=body["allow_partial"],
                allow_split=body["allow_split"],
                now=now,
            )
        except OutOfStock as exc:
            return exc.status, _problem(exc)
        return 201, order_body(order)

    return respond_once(
        org_id=caller.org_id, key=key, scope="POST /api/v1/orders", body=body, now=now, handle=handle
    )


def _problem(exc: OutOfStock) -> dict:
    return {
        "type": PROBLEM_TYPE_BASE + "insufficient-stock",
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        "lines": exc.lines,
    }


@blp.get("")
@secured(blp, "orders:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, OrderListSchema)
def list_orders(args: dict):
    """List the retailer's orders with their lines and purchase-order line states, oldest first"""
    orders = queries.list_orders(
        db.session,
        retailer_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(orders, last_position=orders[-1].id if orders else None, full=len(orders) == args["limit"])


@blp.get("/<int:order_id>")
@secured(blp, "orders:read")
@blp.response(200, OrderSchema)
def get_order(order_id: int):
    """Show an order with its lines and their purchase-order line states"""
    return queries.get_order(db.session, order_id, retailer_id=current_caller().org_id)


@blp.post("/<int:order_id>/cancel")
@secured(blp, "orders:write")
@blp.arguments(OrderCancelSchema)
@blp.response(200, OrderSchema)
def cancel_order(body: dict, order_id: int):
    """Cancel unshipped units: of the given lines, or all of them"""
    caller = current_caller()
    with transaction(db.session):
        order = by_hand.cancel_by_hand(
            db.session,
            retailer_id=caller.org_id,
            order_id=order_id,
            lines=_lines(body),
            reason=body["reason"],
            actor=Actor(client_pk=caller.client_pk),
            now=utcnow(),
        )
    return order


@blp.post("/<int:order_id>/lines/<int:line_id>/reroute")
@secured(blp, "orders:write")
@blp.arguments(RerouteSchema)
@blp.response(200, OrderSchema)
@blp.alt_response(
    409,
    description="Nothing moved: no source has the units, or the line's units are acknowledged,"
    " shipped or already with that source",
)
def reroute_line(body: dict, order_id: int, line_id: int):
    """Move a line's unacknowledged units to another source (the one given, or the best by routing)

    The vendor losing the units gets `po.cancelled`, the one gaining them `po.created`; the
    retailer gets `order.rerouted`, and the move is in the audit log.
    """
    caller = current_caller()
    with transaction(db.session):
        order = reroute.reroute_by_hand(
            db.session,
            retailer_id=caller.org_id,
            order_id=order_id,
            line_id=line_id,
            to_variant_id=body.get("vendor_variant_id"),
            actor=Actor(client_pk=caller.client_pk),
            now=utcnow(),
        )
    return order


@blp.post("/<int:order_id>/returns")
@secured(blp, "orders:write")
@blp.arguments(ReturnCreateSchema)
@blp.response(201, ReturnCreatedSchema)
def open_return(body: dict, order_id: int):
    """Open a return for shipped units (one return per vendor that shipped them)"""
    with transaction(db.session):
        opened = returns.open_return(
            db.session,
            retailer_id=current_caller().org_id,
            order_id=order_id,
            lines=_lines(body),
            reason=body["reason"],
            now=utcnow(),
        )
    return {"data": opened}


def _lines(body: dict) -> list[LineQuantity] | None:
    if "lines" not in body:
        return None
    return [LineQuantity(line["line_id"], line["quantity"]) for line in body["lines"]]
