"""Oversell holds on the variants the retailer's items source: list, lift."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from api_common.schemas import HoldListArgs, HoldListSchema
from network.clock import utcnow
from network.extensions import db
from network.flags import holds

blp = Blueprint("holds", __name__, url_prefix="/api/v1/holds", description="Oversell holds")


@blp.get("")
@secured(blp, "availability:read")
@blp.arguments(HoldListArgs, location="query")
@blp.response(200, HoldListSchema)
def list_holds(args: dict):
    """Holds on variants the retailer's items source (`status=active` or `lifted`), oldest first"""
    found = holds.list_for_retailer(
        db.session,
        retailer_id=current_caller().org_id,
        status=args.get("status"),
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
        now=utcnow(),
    )
    return page(found, last_position=found[-1].hold.id if found else None, full=len(found) == args["limit"])


@blp.delete("/<int:hold_id>")
@secured(blp, "orders:write")
@blp.alt_response(403, description="A hold protects every retailer of its vendor: only the vendor lifts it")
def lift_hold(hold_id: int):
    """Refused: a hold protects every retailer of the vendor; the vendor (or its next count) lifts it"""
    holds.refuse_retailer_lift(db.session, retailer_id=current_caller().org_id, hold_id=hold_id)
