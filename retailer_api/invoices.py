"""Vendor invoices for the retailer's purchase orders, matched against ordered and shipped units."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.edi_schemas import InvoiceListArgs, InvoiceListSchema, InvoiceSchema
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.extensions import db
from network.trading import invoices

blp = Blueprint("invoices", __name__, url_prefix="/api/v1/invoices", description="Vendor invoices")


@blp.get("")
@secured(blp, "orders:read")
@blp.arguments(InvoiceListArgs, location="query")
@blp.response(200, InvoiceListSchema)
def list_invoices(args: dict):
    """List vendor invoices with lines and `mismatches`, oldest first"""
    found = invoices.list_invoices(
        db.session,
        retailer_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])


@blp.get("/<int:invoice_id>")
@secured(blp, "orders:read")
@blp.response(200, InvoiceSchema)
def get_invoice(invoice_id: int):
    """Show one invoice"""
    return invoices.get_invoice(db.session, invoice_id, retailer_id=current_caller().org_id)
