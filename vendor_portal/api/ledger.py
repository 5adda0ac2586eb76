"""The stock ledger of one of the vendor's variants: every change with its cause, before and after."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api_common.ledger_schemas import LedgerListSchema, VendorLedgerArgs
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from api_common.reads import replica_read
from network.catalog import services as catalog
from network.stock.ledger import ledger_page
from vendor_portal.api.common import vendor as vendor_guard

blp = Blueprint("vendor_ledger", __name__, url_prefix="/vendor-api/v1", description="Vendor stock ledger")


@blp.get("/ledger")
@vendor_guard(blp, "inventory:write")
@blp.arguments(VendorLedgerArgs, location="query")
@blp.response(200, LedgerListSchema)
def list_ledger(args: dict):
    """The variant's stock ledger, oldest first"""
    vendor_id, after_id = current_caller().org_id, decode_cursor(args["cursor"], bigint=True)

    def run(session: Session) -> list:
        variant = catalog.get_variant(session, vendor_id=vendor_id, vendor_sku=args["sku"])
        return ledger_page(session, variant_ids=[variant.id], after_id=after_id, limit=args["limit"])

    found = replica_read(run)
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])
