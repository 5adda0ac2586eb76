"""856 ship notice: shipments with carrier, tracking numbers and shipped quantities per line.

The HL hierarchy is read by its parent links (HL02), not by its order, so the shapes seen in the
field all read the same: S/O/I, S/O/P/I (pack level), S/P/O/I and S/O/T/P/I (cross-dock, tares).
Each item (LIN + SN1) belongs to the order (HL O, PRF01 = our PO number) above it; its tracking
number is the nearest one above it: a pack's REF*CN/2I or MAN*CP, else the shipment's REF*CN/2I,
else its bill of lading (REF*BM), else BSN02. The carrier is TD503 (SCAC), else TD505.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from network.edi.po850 import gtin_of, id_pairs, int_or_none
from network.edi.x12 import Segment, TransactionSet

TRACKING_REFS = ("CN", "2I")


@dataclass
class _Level:
    segment: Segment
    parent: str
    code: str
    tracking: str = ""
    bill_of_lading: str = ""
    carrier: str = ""
    po_number: str = ""


@dataclass
class AsnItem:
    segment: Segment
    line_no: int | None
    vendor_part: str
    gtin: str | None
    quantity: int
    tracking: str


@dataclass
class AsnOrder:
    po_number: str
    carrier: str
    items: list[AsnItem] = field(default_factory=list)


@dataclass
class Asn856:
    shipment_id: str
    orders: list[AsnOrder] = field(default_factory=list)


def read_856(tset: TransactionSet) -> tuple[Asn856, list[tuple[Segment, str]]]:
    """Read an 856 set into orders and items; problems come with the segment they concern."""
    problems: list[tuple[Segment, str]] = []
    shipment_id = ""
    levels: dict[str, _Level] = {}
    order_of_items: list[tuple[str, AsnItem | None, Segment]] = []  # (HL id, item, LIN)
    current: _Level | None = None
    current_id = ""
    lin: Segment | None = None
    for seg in tset.segments[1:]:
        tag = seg.tag
        if tag == "BSN":
            shipment_id = seg.get(2)
        elif tag == "HL":
            current_id = seg.get(1)
            current = _Level(seg, seg.get(2), seg.get(3).upper())
            if current_id in levels:
                problems.append((seg, f"HL01 {current_id[:12]!r} is used twice"))
            levels[current_id] = current
            lin = None
        elif current is None:
            continue
        elif tag == "TD5" and not current.carrier:
            current.carrier = seg.get(3) or seg.get(5)
        elif tag == "REF" and seg.get(1) in TRACKING_REFS and not current.tracking:
            current.tracking = seg.get(2)
        elif tag == "REF" and seg.get(1) == "BM" and not current.bill_of_lading:
            current.bill_of_lading = seg.get(2)
        elif tag == "MAN" and seg.get(1) == "CP" and not current.tracking:
            current.tracking = seg.get(2)
        elif tag == "PRF" and not current.po_number:
            current.po_number = seg.get(1)
        elif tag == "LIN":
            lin = seg
        elif tag == "SN1":
            quantity = int_or_none(seg.get(2))
            if quantity is None or quantity < 0:
                problems.append((seg, f"SN102 {seg.get(2)[:12]!r} is not a whole quantity shipped"))
                continue
            ids = id_pairs(lin, 2) if lin is not None else {}
            line_no = int_or_none(seg.get(1)) if seg.get(1) else None
            if line_no is None and lin is not None:
                line_no = int_or_none(lin.get(1))
            item = AsnItem(seg, line_no, (ids.get("VN") or ids.get("VP", "")), gtin_of(ids), quantity, "")
            order_of_items.append((current_id, item, seg))
    orders: dict[str, AsnOrder] = {}
    shipment = next((level for level in levels.values() if level.code == "S"), None)
    for hl_id, item, seg in order_of_items:
        chain = _ancestors(hl_id, levels)
        po_number = next((level.po_number for level in chain if level.po_number), "")
        if not po_number:
            problems.append((seg, "the item has no order level (HL O with PRF01) above it"))
            continue
        tracking = next((level.tracking for level in chain if level.tracking), "")
        tracking = tracking or (shipment.bill_of_lading if shipment else "") or shipment_id
        carrier = next((level.carrier for level in chain if level.carrier), "")
        item.tracking = tracking
        order = orders.setdefault(po_number, AsnOrder(po_number, carrier))
        order.items.append(item)
    if not levels:
        problems.append((tset.segments[0], "the 856 has no HL hierarchy"))
    return Asn856(shipment_id, list(orders.values())), problems


def _ancestors(hl_id: str, levels: dict[str, _Level]) -> list[_Level]:
    chain: list[_Level] = []
    seen: set[str] = set()
    while hl_id in levels and hl_id not in seen:
        seen.add(hl_id)
        level = levels[hl_id]
        chain.append(level)
        hl_id = level.parent
    return chain
