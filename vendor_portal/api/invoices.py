"""Invoices the vendor raised: by hand here, or from an 810 it dropped in its EDI mailbox."""

from __future__ import annotations

from decimal import Decimal

from flask_smorest import Blueprint

from api_common.edi_schemas import InvoiceCreateSchema, InvoiceListArgs, InvoiceListSchema, InvoiceSchema
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.trading import invoices
from vendor_portal.api.common import vendor as vendor_guard

blp = Blueprint("vendor_invoices", __name__, url_prefix="/vendor-api/v1/invoices", description="Invoices")


def vendor(scope: str):
    return vendor_guard(blp, scope)


@blp.get("")
@vendor("purchase_orders:read")
@blp.arguments(InvoiceListArgs, location="query")
@blp.response(200, InvoiceListSchema)
def list_invoices(args: dict):
    """List this vendor's invoices with their lines and mismatches, oldest first"""
    found = invoices.list_invoices(
        db.session,
        vendor_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])


@blp.get("/<int:invoice_id>")
@vendor("purchase_orders:read")
@blp.response(200, InvoiceSchema)
def get_invoice(invoice_id: int):
    """Show one invoice"""
    return invoices.get_invoice(db.session, invoice_id, vendor_id=current_caller().org_id)


@blp.post("")
@vendor("purchase_orders:write")
@blp.arguments(InvoiceCreateSchema)
@blp.response(201, InvoiceSchema)
def create_invoice(body: dict):
    """Raise an invoice for a purchase order; differences from what was ordered and shipped are flagged"""
    vendor_id = current_caller().org_id
    with transaction(db.session):
        po = invoices.vendor_purchase_order(db.session, vendor_id=vendor_id, po_id=body["purchase_order_id"])
        lines = {line.id: line for line in po.lines}
        unknown = [item["line_id"] for item in body["lines"] if item["line_id"] not in lines]
        if unknown:
            raise InvalidInput(
                f"purchase order {po.id} has no line {unknown[0]}",
                errors={"lines": [f"unknown line_id {line_id}" for line_id in unknown]},
            )
        items = [
            invoices.ItemIn(
                lines[item["line_id"]],
                lines[item["line_id"]].variant.vendor_sku,
                item["quantity"],
                Decimal(item["unit_price"]),
            )
            for item in body["lines"]
        ]
        return invoices.record_invoice(
            db.session,
            po=po,
            number=body["number"],
            invoice_date=body.get("invoice_date"),
            items=items,
            stated_total=Decimal(body["total"]) if body.get("total") is not None else None,
            source="manual",
            now=utcnow(),
        )
