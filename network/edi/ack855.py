"""855 purchase-order acknowledgement: the vendor's answer per line.

BAK03 names our PO number; each PO1 (line number, or the VN part number when PO101 is blank)
carries ACK segments: ACK01 the line status (X12 element 668), ACK02 the quantity it concerns,
ACK04/ACK05 a date (068 current schedule ship, 067 current schedule delivery, 017 estimated
delivery). A line without ACK takes BAK02: AT/AD accept everything as ordered, RJ rejects it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from network.edi.po850 import id_pairs, int_or_none
from network.edi.x12 import Segment, TransactionSet, parse_date

ACCEPTED = "accepted"
QUANTITY_CHANGED = "quantity_changed"
BACKORDERED = "backordered"
REJECTED = "rejected"

# ACK01 -> what it means for the line; rejections carry our reason_code.
STATUS = {
    "IA": ACCEPTED,
    "AC": ACCEPTED,
    "AR": ACCEPTED,
    "IE": ACCEPTED,
    "IP": ACCEPTED,
    "IS": ACCEPTED,
    "SP": ACCEPTED,
    "DR": ACCEPTED,
    "IC": QUANTITY_CHANGED,
    "IQ": QUANTITY_CHANGED,
    "IB": BACKORDERED,
    "BP": BACKORDERED,
    "IR": REJECTED,
    "ID": REJECTED,
    "R1": REJECTED,
    "R2": REJECTED,
    "R3": REJECTED,
    "R4": REJECTED,
}
REASON_CODES = {
    "IR": "out_of_stock",
    "R4": "out_of_stock",
    "ID": "discontinued",
    "R1": "discontinued",
    "R2": "other",
    "R3": "other",
}
REASON_WORDS = {
    "IR": "item rejected",
    "ID": "item deleted",
    "R1": "not a contract item",
    "R2": "invalid item product number",
    "R3": "invalid unit of issue",
    "R4": "contract item not available",
}
HEADER_ACCEPT = ("AT", "AD", "AC")
HEADER_REJECT = ("RJ", "RD")


@dataclass
class AckLine:
    segment: Segment
    line_no: int | None
    vendor_part: str
    ordered: int | None
    status: str  # ACCEPTED, QUANTITY_CHANGED, BACKORDERED, REJECTED
    code: str  # the ACK01 (or BAK02) it came from
    quantity: int | None
    date: dt.date | None = None
    reason_code: str = "other"
    reason: str = ""


@dataclass
class Ack855:
    po_number: str
    ack_type: str
    lines: list[AckLine] = field(default_factory=list)


def read_855(tset: TransactionSet) -> tuple[Ack855, list[tuple[Segment, str]]]:
    """Read an 855 set; problems come with the segment they concern."""
    problems: list[tuple[Segment, str]] = []
    ack = Ack855("", "")
    line: AckLine | None = None
    pending: list[AckLine] = []
    for seg in tset.segments[1:]:
        if seg.tag == "BAK":
            ack.po_number, ack.ack_type = seg.get(3), seg.get(2).upper()
        elif seg.tag == "PO1":
            if line is not None:
                pending.append(line)
            ids = id_pairs(seg, 6)
            line = AckLine(
                seg,
                int_or_none(seg.get(1)),
                (ids.get("VN") or ids.get("VP", "")),
                int_or_none(seg.get(2)),
                "",
                "",
                None,
            )
        elif seg.tag == "ACK" and line is not None:
            code = seg.get(1).upper()
            status = STATUS.get(code)
            if status is None:
                problems.append((seg, f"ACK01 {code[:4]!r} is not a line status the hub knows"))
                continue
            quantity = int_or_none(seg.get(2)) if seg.get(2) else None
            if seg.get(2) and quantity is None:
                problems.append((seg, f"ACK02 {seg.get(2)[:12]!r} is not a whole quantity"))
                continue
            date = parse_date(seg.get(5)) if seg.get(5) else None
            if seg.get(5) and date is None:
                problems.append((seg, f"ACK05 {seg.get(5)[:12]!r} is not a date"))
            if line.status:  # a second ACK on one line: a split answer (part accepted, part not)
                pending.append(line)
                line = AckLine(line.segment, line.line_no, line.vendor_part, line.ordered, "", "", None)
            line.status, line.code, line.quantity, line.date = status, code, quantity, date
            line.segment = seg
            if status == REJECTED:
                line.reason_code = REASON_CODES.get(code, "other")
                line.reason = f"855 {code}: {REASON_WORDS.get(code, 'rejected')}"
    if line is not None:
        pending.append(line)
    for entry in pending:
        if not entry.status:
            if ack.ack_type in HEADER_REJECT:
                entry.status, entry.code, entry.reason_code = REJECTED, ack.ack_type, "other"
                entry.reason = f"855 BAK02 {ack.ack_type}: order rejected"
            else:
                entry.status, entry.code = ACCEPTED, ack.ack_type
            entry.quantity = entry.ordered
        ack.lines.append(entry)
    if not ack.po_number:
        problems.append((tset.segments[0], "the 855 has no BAK03 purchase order number"))
    return ack, problems
