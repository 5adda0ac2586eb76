"""Returns coming back to the vendor: list, receive, grade."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from api_common.schemas import ReturnSchema
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.orders import returns
from vendor_portal.api.common import vendor as vendor_guard
from vendor_portal.api.order_schemas import InspectionSchema, ReceiveSchema, ReturnListArgs, ReturnListSchema

blp = Blueprint("vendor_returns", __name__, url_prefix="/vendor-api/v1/returns", description="Returns")


def vendor(scope: str):
    return vendor_guard(blp, scope)


@blp.get("")
@vendor("purchase_orders:read")
@blp.arguments(ReturnListArgs, location="query")
@blp.response(200, ReturnListSchema)
def list_returns(args: dict):
    """List returns (`status=open`: expected or received, not yet fully graded), oldest first"""
    found = returns.list_returns(
        db.session,
        vendor_id=current_caller().org_id,
        status=args.get("status"),
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])


@blp.get("/<int:return_id>")
@vendor("purchase_orders:read")
@blp.response(200, ReturnSchema)
def get_return(return_id: int):
    """Show a return with its lines"""
    return returns.get_return(db.session, return_id, vendor_id=current_caller().org_id)


@blp.post("/<int:return_id>/receive")
@vendor("purchase_orders:write")
@blp.arguments(ReceiveSchema)
@blp.response(200, ReturnSchema)
def receive(body: dict, return_id: int):
    """Receive returned units: they count as pending inspection, never sellable"""
    with transaction(db.session):
        ret = returns.receive_return(
            db.session,
            vendor_id=current_caller().org_id,
            return_id=return_id,
            quantity=body["quantity"],
            now=utcnow(),
        )
    return ret


@blp.post("/<int:return_id>/inspection")
@vendor("purchase_orders:write")
@blp.arguments(InspectionSchema)
@blp.response(200, ReturnSchema)
def inspect(body: dict, return_id: int):
    """Grade received units: resellable ones go back to stock, damaged ones to `damaged`"""
    with transaction(db.session):
        ret = returns.grade_return(
            db.session,
            vendor_id=current_caller().org_id,
            return_id=return_id,
            resellable=body["resellable"],
            damaged=body["damaged"],
            now=utcnow(),
        )
    return ret
