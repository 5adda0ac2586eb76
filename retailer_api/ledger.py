"""The stock ledger behind an item's figure: what moved it, when, and why."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.ledger_schemas import LedgerListSchema, RetailerLedgerArgs
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from api_common.reads import replica_read
from network.availability.history import item_ledger

blp = Blueprint("ledger", __name__, url_prefix="/api/v1", description="Stock ledger")


@blp.get("/ledger")
@secured(blp, "availability:read")
@blp.arguments(RetailerLedgerArgs, location="query")
@blp.response(200, LedgerListSchema)
def list_ledger(args: dict):
    """Ledger entries of the variants that source the item through an active connection, oldest first"""
    retailer_id, after_id = current_caller().org_id, decode_cursor(args["cursor"], bigint=True)
    found = replica_read(
        lambda session: item_ledger(
            session,
            retailer_id=retailer_id,
            retailer_sku=args["retailer_sku"],
            after_id=after_id,
            limit=args["limit"],
        )
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])
