"""Oversell holds on the vendor's variants: list them, lift one once the stock is right."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from api_common.schemas import HoldListArgs, HoldListSchema, HoldSchema
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.flags import holds
from network.partners.audit import Actor
from vendor_portal.api.common import vendor as vendor_guard

blp = Blueprint("vendor_holds", __name__, url_prefix="/vendor-api/v1/holds", description="Oversell holds")


def vendor(scope: str):
    return vendor_guard(blp, scope)


@blp.get("")
@vendor("inventory:write")
@blp.arguments(HoldListArgs, location="query")
@blp.response(200, HoldListSchema)
def list_holds(args: dict):
    """Holds on this vendor's variants (`status=active` or `lifted`), oldest first"""
    found = holds.list_for_vendor(
        db.session,
        vendor_id=current_caller().org_id,
        status=args.get("status"),
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
        now=utcnow(),
    )
    return page(found, last_position=found[-1].hold.id if found else None, full=len(found) == args["limit"])


@blp.delete("/<int:variant_id>")
@vendor("inventory:write")
@blp.response(200, HoldSchema)
def lift_hold(variant_id: int):
    """Lift the hold on one of this vendor's variants: its stock counts again"""
    with transaction(db.session):
        caller = current_caller()
        view = holds.lift_for_vendor(
            db.session,
            vendor_id=caller.org_id,
            variant_id=variant_id,
            actor=Actor(client_pk=caller.client_pk),
            now=utcnow(),
        )
    return view
