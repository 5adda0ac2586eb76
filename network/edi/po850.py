"""850 purchase order: what the hub writes for a purchase order to an EDI vendor, and how it reads one.

Written (4010 or 5010, one PO per set):

    BEG*00*DS*<PO number>**<order date>           DS: dropship
    REF*CO*<retailer's order reference>
    DTM*ZZZ*<acknowledge by date>*<time>          mutually defined: the acknowledgement SLA
    DTM*038*<ship no later than date>*<time>      the shipping SLA
    N1*ST*<name> / N3*<address1> / N4*<city>*<state>*<postal code>*<country>
    PO1*<line>*<qty>*EA*<unit cost>**VN*<vendor part>*UP|EN|UK*<GTIN>*IN*<retailer SKU>
    CTT*<lines>*<sum of quantities>

Line numbers (PO101) are the PO line's position (1, 2, ...); 855, 856 and 810 lines are matched
back by them, else by the vendor part number. `read_850` reads what `write_850` writes and the
usual retail shapes (VICS, id pairs in any order, missing PO101).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from network.edi.x12 import Segment, Separators, TransactionSet, clean, parse_date, parse_time

SHIP_BY = "038"
ACK_BY = "ZZZ"
GTIN_QUALIFIERS = {12: "UP", 13: "EN", 14: "UK"}


@dataclass(frozen=True)
class ShipTo:
    name: str
    address1: str
    city: str
    postal_code: str
    country: str
    state: str = ""


@dataclass(frozen=True)
class PoLine:
    line_no: int
    quantity: int
    vendor_part: str
    unit_cost: Decimal | None = None
    gtin: str | None = None
    retailer_sku: str = ""


@dataclass(frozen=True)
class Po850:
    po_number: str
    order_date: dt.date
    retailer_reference: str
    ship_to: ShipTo
    lines: tuple[PoLine, ...]
    ack_by: dt.datetime | None = None
    ship_by: dt.datetime | None = None


def cleaned(po: Po850, seps: Separators) -> Po850:
    """Return the PO as it will read back: free text made safe for the envelope, times to the minute."""

    def c(value: str, limit: int) -> str:
        return clean(value, seps, limit=limit)

    ship = po.ship_to
    return Po850(
        po_number=c(po.po_number, 22),
        order_date=po.order_date,
        retailer_reference=c(po.retailer_reference, 80),
        ship_to=ShipTo(
            c(ship.name, 60),
            c(ship.address1, 55),
            c(ship.city, 30),
            c(ship.postal_code, 15),
            c(ship.country, 3),
            c(ship.state, 2),
        ),
        lines=tuple(
            PoLine(
                line.line_no,
                line.quantity,
                c(line.vendor_part, 48),
                None if line.unit_cost is None else line.unit_cost.normalize(),
                line.gtin,
                c(line.retailer_sku, 48),
            )
            for line in po.lines
        ),
        ack_by=_minute(po.ack_by),
        ship_by=_minute(po.ship_by),
    )


def _minute(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.astimezone(dt.UTC).replace(second=0, microsecond=0)


def _amount(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def write_850(po: Po850, seps: Separators) -> list[list[str]]:
    """Return the 850's body segments (without ST/SE) for a cleaned PO."""
    po = cleaned(po, seps)
    body: list[list[str]] = [
        ["BEG", "00", "DS", po.po_number, "", po.order_date.strftime("%Y%m%d")],
    ]
    if po.retailer_reference:
        body.append(["REF", "CO", po.retailer_reference])
    for code, moment in ((ACK_BY, po.ack_by), (SHIP_BY, po.ship_by)):
        if moment is not None:
            body.append(["DTM", code, moment.strftime("%Y%m%d"), moment.strftime("%H%M"), "UT"])
    ship = po.ship_to
    body.append(["N1", "ST", ship.name])
    if ship.address1:
        body.append(["N3", ship.address1])
    body.append(["N4", ship.city, ship.state, ship.postal_code, ship.country])
    for line in po.lines:
        ids = ["VN", line.vendor_part]
        if line.gtin:
            ids += [GTIN_QUALIFIERS.get(len(line.gtin), "UP"), line.gtin]
        if line.retailer_sku:
            ids += ["IN", line.retailer_sku]
        cost = "" if line.unit_cost is None else _amount(line.unit_cost)
        body.append(["PO1", str(line.line_no), str(line.quantity), "EA", cost, "", *ids])
    body.append(["CTT", str(len(po.lines)), str(sum(line.quantity for line in po.lines))])
    return body


def id_pairs(seg: Segment, first: int) -> dict[str, str]:
    """Read qualifier/id pairs from element `first` on (first qualifier wins)."""
    ids: dict[str, str] = {}
    for i in range(first, len(seg.elements) - 1, 2):
        qualifier, value = seg.get(i).upper(), seg.get(i + 1)
        if qualifier and value:
            ids.setdefault(qualifier, value)
    return ids


def gtin_of(ids: dict[str, str]) -> str | None:
    return next((ids[q] for q in ("UP", "EN", "UK") if q in ids), None)


def decimal_or_none(text: str) -> Decimal | None:
    """Read an X12 R (decimal) element; None when blank or unreadable."""
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def int_or_none(text: str) -> int | None:
    value = decimal_or_none(text)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def read_850(tset: TransactionSet) -> tuple[Po850, list[str]]:
    """Read an 850 set into a PO and the problems met (blank fields stay blank)."""
    problems: list[str] = []
    po_number, order_date, reference = "", None, ""
    ship = {"name": "", "address1": "", "city": "", "state": "", "postal_code": "", "country": ""}
    in_ship_to = False
    moments: dict[str, dt.datetime] = {}
    lines: list[PoLine] = []
    for seg in tset.segments[1:]:
        tag = seg.tag
        if tag == "BEG":
            po_number = seg.get(3)
            order_date = parse_date(seg.get(5))
            if order_date is None:
                problems.append(f"segment {seg.number}: BEG05 {seg.get(5)[:12]!r} is not a date")
        elif tag == "REF" and seg.get(1) == "CO" and not reference:
            reference = seg.get(2)
        elif tag == "DTM" and seg.get(1) in (ACK_BY, SHIP_BY):
            day, clock = parse_date(seg.get(2)), parse_time(seg.get(3)) if seg.get(3) else dt.time()
            if day is None or clock is None:
                problems.append(f"segment {seg.number}: DTM date/time {seg.get(2)[:12]!r} is unreadable")
            else:
                moments[seg.get(1)] = dt.datetime.combine(day, clock, dt.UTC)
        elif tag == "N1":
            in_ship_to = seg.get(1) == "ST" and not lines
            if in_ship_to:
                ship["name"] = seg.get(2)
        elif tag == "N3" and in_ship_to:
            ship["address1"] = seg.get(1)
        elif tag == "N4" and in_ship_to:
            ship.update(city=seg.get(1), state=seg.get(2), postal_code=seg.get(3), country=seg.get(4))
        elif tag == "PO1":
            in_ship_to = False
            ids = id_pairs(seg, 6)
            quantity = int_or_none(seg.get(2))
            if quantity is None:
                problems.append(f"segment {seg.number}: PO102 {seg.get(2)[:12]!r} is not a whole quantity")
                continue
            line_no = int_or_none(seg.get(1))
            lines.append(
                PoLine(
                    line_no if line_no is not None else len(lines) + 1,
                    quantity,
                    ids.get("VN", ""),
                    decimal_or_none(seg.get(4)),
                    gtin_of(ids),
                    ids.get("IN", ""),
                )
            )
    if not po_number:
        problems.append("the 850 has no BEG03 purchase order number")
    po = Po850(
        po_number=po_number,
        order_date=order_date or dt.date(1970, 1, 1),
        retailer_reference=reference,
        ship_to=ShipTo(**ship),
        lines=tuple(lines),
        ack_by=moments.get(ACK_BY),
        ship_by=moments.get(SHIP_BY),
    )
    return po, problems
