"""Flags: order lines at risk, the figures that prove the hub warned first, and dismissing a flag."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.flags import services as flags
from retailer_api.flag_schemas import FlagListArgs, FlagListSchema, FlagSchema, FlagStatsArgs, FlagStatsSchema

blp = Blueprint("flags", __name__, url_prefix="/api/v1/flags", description="Flags on at-risk order lines")


@blp.get("")
@secured(blp, "orders:read")
@blp.arguments(FlagListArgs, location="query")
@blp.response(200, FlagListSchema)
def list_flags(args: dict):
    """List flags (`status=open` or `resolved`, all by default; `order_id`: one order's), oldest first"""
    found = flags.list_flags(
        db.session,
        retailer_id=current_caller().org_id,
        status=args.get("status"),
        order_id=args.get("order_id"),
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])


@blp.get("/stats")
@secured(blp, "orders:read")
@blp.arguments(FlagStatsArgs, location="query")
@blp.response(200, FlagStatsSchema)
def flag_stats(args: dict):
    """Vendor cancellations, the share a flag announced first, and the median lead time in seconds"""
    return flags.stats(db.session, retailer_id=current_caller().org_id, since=args.get("since"))


@blp.get("/<int:flag_id>")
@secured(blp, "orders:read")
@blp.response(200, FlagSchema)
def get_flag(flag_id: int):
    """Show a flag"""
    return flags.get_flag(db.session, flag_id, retailer_id=current_caller().org_id)


@blp.post("/<int:flag_id>/dismiss")
@secured(blp, "orders:write")
@blp.response(200, FlagSchema)
@blp.alt_response(409, description="The flag is already resolved")
def dismiss_flag(flag_id: int):
    """Clear a flag the retailer has dealt with itself (e.g. a refused line it cancelled with its customer)"""
    with transaction(db.session):
        flag = flags.dismiss_flag(db.session, flag_id, retailer_id=current_caller().org_id, now=utcnow())
    return flag
