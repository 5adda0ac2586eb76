"""Invoices (from an 810 or raised by hand): matched line by line against what was ordered and shipped.

Every difference is listed on the invoice (`mismatches`) and flagged to the retailer on the line it
concerns (flag kind invoice_mismatch), never silently accepted: units invoiced beyond those shipped
or ordered, a unit price other than the PO's unit cost, a line the PO does not have, a stated total
other than the sum of the lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.errors import Conflict, InvalidInput, NotFound
from network.flags.models import INVOICE_MISMATCH
from network.flags.services import line_ref, raise_flag
from network.orders.models import PurchaseOrder, PurchaseOrderLine
from network.trading.models import Invoice, InvoiceLine

# What the columns hold (Numeric(12, 4) prices, Numeric(14, 4) totals).
MAX_QUANTITY = 1_000_000
MAX_PRICE = Decimal(10**8)
MAX_TOTAL = Decimal(10**10)


@dataclass(frozen=True)
class ItemIn:
    """An invoiced line as given: the PO line it is for (None when it matched none), and the figures."""

    po_line: PurchaseOrderLine | None
    vendor_sku: str
    quantity: int
    unit_price: Decimal | None


def record_invoice(
    session: Session,
    *,
    po: PurchaseOrder,
    number: str,
    invoice_date: dt.date | None,
    items: Sequence[ItemIn],
    stated_total: Decimal | None,
    source: str,
    now: dt.datetime,
    edi_file_id: int | None = None,
) -> Invoice:
    """Keep an invoice with its mismatches and flag them. Raises Conflict (number used), InvalidInput."""
    number = number.strip()
    if not number:
        raise InvalidInput("an invoice needs a number", errors={"number": ["required"]})
    if not items:
        raise InvalidInput("an invoice needs lines", errors={"lines": ["at least one line"]})
    if session.scalar(
        sa.select(Invoice.id).where(Invoice.vendor_id == po.vendor_id, Invoice.number == number)
    ):
        raise Conflict(f"invoice {number} was already received")
    invoice = Invoice(
        vendor_id=po.vendor_id,
        retailer_id=po.retailer_id,
        po_id=po.id,
        number=number[:30],
        invoice_date=invoice_date,
        source=source,
        stated_total=stated_total,
        edi_file_id=edi_file_id,
        created_at=now,
        total=Decimal(0),
    )
    mismatches: list[dict] = []
    per_line: dict[int, int] = {}
    for item in items:
        line = item.po_line
        if not 1 <= item.quantity <= MAX_QUANTITY:
            raise InvalidInput(
                f"invoiced quantities must be 1 to {MAX_QUANTITY}",
                errors={"lines": ["quantity out of range"]},
            )
        if item.unit_price is not None and not (0 <= item.unit_price < MAX_PRICE):
            raise InvalidInput(
                f"a unit price must be 0 to below {MAX_PRICE}", errors={"lines": ["unit_price out of range"]}
            )
        invoice.lines.append(
            InvoiceLine(
                po_line_id=line.id if line else None,
                vendor_sku=item.vendor_sku[:100],
                quantity=item.quantity,
                unit_price=item.unit_price,
                ordered=line.ordered if line else None,
                shipped=line.shipped if line else None,
                unit_cost=line.unit_cost if line else None,
            )
        )
        if item.unit_price is not None:
            invoice.total += item.unit_price * item.quantity
        if line is None:
            mismatches.append(
                {
                    "line_id": None,
                    "vendor_sku": item.vendor_sku,
                    "kind": "unknown_line",
                    "message": f"purchase order {po.id} has no line for {item.vendor_sku or 'this item'}",
                }
            )
            continue
        per_line[line.id] = per_line.get(line.id, 0) + item.quantity
        if item.unit_price is not None and line.unit_cost is not None and item.unit_price != line.unit_cost:
            mismatches.append(
                {
                    "line_id": line.id,
                    "vendor_sku": item.vendor_sku,
                    "kind": "unit_price",
                    "invoiced": str(item.unit_price),
                    "expected": str(line.unit_cost.normalize()),
                    "message": f"unit price {item.unit_price} but the PO's unit cost is {line.unit_cost.normalize()}",
                }
            )
    lines = {line.id: line for line in po.lines}
    for line_id, quantity in per_line.items():
        line = lines[line_id]
        if quantity > line.live:
            mismatches.append(
                {
                    "line_id": line_id,
                    "vendor_sku": line.variant.vendor_sku,
                    "kind": "over_ordered",
                    "invoiced": quantity,
                    "expected": line.live,
                    "message": f"{quantity} units invoiced but {line.live} ordered (after cancellations)",
                }
            )
        elif quantity > line.shipped:
            mismatches.append(
                {
                    "line_id": line_id,
                    "vendor_sku": line.variant.vendor_sku,
                    "kind": "over_shipped",
                    "invoiced": quantity,
                    "expected": line.shipped,
                    "message": f"{quantity} units invoiced but {line.shipped} shipped",
                }
            )
    if stated_total is not None and stated_total != invoice.total:
        mismatches.append(
            {
                "line_id": None,
                "vendor_sku": "",
                "kind": "total",
                "invoiced": str(stated_total),
                "expected": str(invoice.total.normalize()),
                "message": f"stated total {stated_total} but the lines sum to {invoice.total.normalize()}",
            }
        )
    if invoice.total >= MAX_TOTAL or (stated_total is not None and not 0 <= stated_total < MAX_TOTAL):
        raise InvalidInput(f"an invoice total must be below {MAX_TOTAL}", errors={"total": ["out of range"]})
    invoice.mismatches = mismatches
    session.add(invoice)
    session.flush()
    flagged = sorted({m["line_id"] for m in mismatches if m["line_id"] is not None})
    if not flagged and mismatches:
        flagged = [min(lines)]  # a total or unknown line still reaches the retailer, on the PO's first line
    for line_id in flagged:
        detail = {
            "invoice_id": invoice.id,
            "invoice_number": invoice.number,
            "mismatches": [m["message"] for m in mismatches if m["line_id"] in (line_id, None)],
        }
        raise_flag(session, line_ref(lines[line_id]), kind=INVOICE_MISMATCH, now=now, detail=detail)
    return invoice


def match_line(po: PurchaseOrder, line_no: int | None, vendor_sku: str) -> PurchaseOrderLine | None:
    """The PO line an EDI line names: by its position (PO101 we sent), else by the vendor part number."""
    ordered = sorted(po.lines, key=lambda line: line.id)
    if line_no is not None and 1 <= line_no <= len(ordered):
        line = ordered[line_no - 1]
        if not vendor_sku or line.variant.vendor_sku == vendor_sku:
            return line
    if vendor_sku:
        return next((line for line in ordered if line.variant.vendor_sku == vendor_sku), None)
    return None


def _query() -> sa.Select:
    return sa.select(Invoice).options(selectinload(Invoice.lines))


def list_invoices(
    session: Session,
    *,
    retailer_id: int | None = None,
    vendor_id: int | None = None,
    after_id: int,
    limit: int,
) -> list[Invoice]:
    query = _query().where(Invoice.id > after_id)
    if retailer_id is not None:
        query = query.where(Invoice.retailer_id == retailer_id)
    if vendor_id is not None:
        query = query.where(Invoice.vendor_id == vendor_id)
    return list(session.scalars(query.order_by(Invoice.id).limit(limit)))


def get_invoice(
    session: Session, invoice_id: int, *, retailer_id: int | None = None, vendor_id: int | None = None
) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if (
        invoice is None
        or (retailer_id is not None and invoice.retailer_id != retailer_id)
        or (vendor_id is not None and invoice.vendor_id != vendor_id)
    ):
        raise NotFound(f"no invoice {invoice_id}")
    return invoice


def vendor_purchase_order(session: Session, *, vendor_id: int, po_id: int) -> PurchaseOrder:
    po = session.get(PurchaseOrder, po_id)
    if po is None or po.vendor_id != vendor_id:
        raise NotFound(f"no purchase order {po_id}")
    return po
