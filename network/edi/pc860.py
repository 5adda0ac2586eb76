"""860 purchase-order change: what the hub sends when a retailer cancels units of an EDI vendor's PO.

BCH01 01 (cancellation) when every live unit is cancelled, else 04 (change) with one POC per line:
DI (delete item) for a line cancelled whole, QD (quantity decrease) with the ordered and the
remaining quantity otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from network.edi.x12 import Separators, clean


@dataclass(frozen=True)
class ChangeLine:
    line_no: int
    vendor_part: str
    ordered: int
    remaining: int


def write_860(
    *, po_number: str, order_date: dt.date, lines: Sequence[ChangeLine], whole: bool, seps: Separators
) -> list[list[str]]:
    """Return the 860 body: a whole cancellation or per-line decreases."""
    body: list[list[str]] = [
        [
            "BCH",
            "01" if whole else "04",
            "DS",
            clean(po_number, seps, limit=22),
            "",
            "",
            order_date.strftime("%Y%m%d"),
        ]
    ]
    for line in lines:
        code = "DI" if line.remaining == 0 else "QD"
        body.append(
            [
                "POC",
                str(line.line_no),
                code,
                str(line.ordered),
                str(line.remaining),
                "EA",
                "",
                "",
                "VN",
                clean(line.vendor_part, seps, limit=48),
            ]
        )
    body.append(["CTT", str(len(lines))])
    return body
