"""Build what an EDI vendor's translator would drop: X12 from the vendor to the hub."""

from __future__ import annotations

import datetime as dt
import itertools

from network.edi.x12 import Party, write_interchange

VENDOR_ISA = "ACMEVENDOR"
HUB_ISA = "DROPNET"
_controls = itertools.count(500)

SETUP = {
    "isa_qualifier": "ZZ",
    "isa_id": VENDOR_ISA,
    "version": "004010",
    "documents": ["850", "855", "856", "810", "846", "860", "997"],
    "transport": {
        "kind": "sftp",
        "host": "127.0.0.1",
        "port": 2222,
        "username": "acme",
        "credentials": {"password": "s3cret-pass"},
        "inbound_dir": "in",
        "outbound_dir": "out",
    },
}


def vendor_file(functional_id: str, kind: str, *bodies: list[list[str]], group: int | None = None) -> bytes:
    """One interchange from the vendor holding one set per body."""
    control = next(_controls)
    text = write_interchange(
        sender=Party("ZZ", VENDOR_ISA),
        receiver=Party("ZZ", HUB_ISA),
        functional_id=functional_id,
        version="004010",
        interchange_control=control,
        group_control=group or control,
        sets=[(kind, index, body) for index, body in enumerate(bodies, start=1)],
        at=dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC),
    )
    return text.encode()


def ack_855(po_id: int, *lines: tuple[int, str, int]) -> bytes:
    """lines: (PO101, ACK01 code, quantity)."""
    body = [["BAK", "00", "AC", str(po_id), "20261207"]]
    for line_no, code, quantity in lines:
        body += [["PO1", str(line_no), str(quantity), "EA"], ["ACK", code, str(quantity), "EA"]]
    body.append(["CTT", str(len(lines))])
    return vendor_file("PR", "855", body)


def asn_856(po_id: int, tracking: str, *items: tuple[int, int], scac: str = "UPSN") -> bytes:
    """Shipment / order / pack / item levels; items: (line number, quantity)."""
    body = [
        ["BSN", "00", f"SH{po_id}", "20261207", "1200"],
        ["HL", "1", "", "S"],
        ["TD5", "", "2", scac],
        ["HL", "2", "1", "O"],
        ["PRF", str(po_id)],
        ["HL", "3", "2", "P"],
        ["MAN", "CP", tracking],
    ]
    for index, (line_no, quantity) in enumerate(items, start=4):
        body += [
            ["HL", str(index), "3", "I"],
            ["LIN", str(line_no)],
            ["SN1", str(line_no), str(quantity), "EA"],
        ]
    body.append(["CTT", str(len(items) + 3)])
    return vendor_file("SH", "856", body)


def invoice_810(
    po_id: int, number: str, *items: tuple[int, int, str], total_cents: int | None = None
) -> bytes:
    """items: (line number, quantity, unit price)."""
    body = [["BIG", "20261207", number, "", str(po_id)]]
    for line_no, quantity, price in items:
        body.append(["IT1", str(line_no), str(quantity), "EA", price])
    if total_cents is not None:
        body.append(["TDS", str(total_cents)])
    return vendor_file("IN", "810", body)


def fa_997(group_control: int, set_control: int, status: str = "A") -> bytes:
    body = [
        ["AK1", "PO", str(group_control)],
        ["AK2", "850", f"{set_control:04d}"],
        ["AK5", status],
        ["AK9", status, "1", "1", "1"],
    ]
    return vendor_file("FA", "997", body)


def advice_846(*items: tuple[str, int]) -> bytes:
    """items: (vendor part number, units available for sale)."""
    # The count's as-of, to the second: a second ahead, so it is newer than the counts the test made.
    counted = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    body = [["BIA", "00", "MM", "ADV1", counted.strftime("%Y%m%d"), counted.strftime("%H%M%S")]]
    for index, (part, quantity) in enumerate(items, start=1):
        body += [["LIN", str(index), "VN", part], ["QTY", "33", str(quantity), "EA"]]
    body.append(["CTT", str(len(items))])
    return vendor_file("IB", "846", body)
