"""810 invoice: the vendor's bill for a purchase order, line by line.

BIG01 invoice date, BIG02 invoice number, BIG04 our PO number; IT1: line number, quantity
invoiced, unit, unit price, then qualifier/id pairs (VN part number, UP/EN/UK GTIN); TDS01 the
total in implied cents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from network.edi.po850 import decimal_or_none, gtin_of, id_pairs, int_or_none
from network.edi.x12 import Segment, TransactionSet, parse_date


@dataclass
class InvoiceItem:
    segment: Segment
    line_no: int | None
    vendor_part: str
    gtin: str | None
    quantity: int
    unit_price: Decimal | None


@dataclass
class Invoice810:
    number: str
    date: dt.date | None
    po_number: str
    total: Decimal | None = None
    items: list[InvoiceItem] = field(default_factory=list)


def read_810(tset: TransactionSet) -> tuple[Invoice810, list[tuple[Segment, str]]]:
    """Read an 810 set; problems come with the segment they concern."""
    problems: list[tuple[Segment, str]] = []
    invoice = Invoice810("", None, "")
    for seg in tset.segments[1:]:
        if seg.tag == "BIG":
            invoice.date = parse_date(seg.get(1))
            invoice.number, invoice.po_number = seg.get(2), seg.get(4)
        elif seg.tag == "IT1":
            quantity = int_or_none(seg.get(2))
            if quantity is None or quantity < 0:
                problems.append((seg, f"IT102 {seg.get(2)[:12]!r} is not a whole quantity"))
                continue
            ids = id_pairs(seg, 6)
            invoice.items.append(
                InvoiceItem(
                    seg,
                    int_or_none(seg.get(1)),
                    (ids.get("VN") or ids.get("VP", "")),
                    gtin_of(ids),
                    quantity,
                    decimal_or_none(seg.get(4)),
                )
            )
        elif seg.tag == "TDS":
            cents = int_or_none(seg.get(1))
            invoice.total = None if cents is None else Decimal(cents) / 100
    if not invoice.number:
        problems.append((tset.segments[0], "the 810 has no BIG02 invoice number"))
    return invoice, problems
