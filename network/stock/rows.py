"""What a vendor reports of one sku, whatever brought it (a feed, an upload, an edit in the portal).

Stock plans and applies these rows; the feed readers (network/feeds/) produce them, so the types
sit here, below both.
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One valid record of a feed, in our field names."""

    line: int
    sku: str
    quantity: int
    damaged: int | None = None
    pending_inspection: int | None = None
    incoming: int | None = None
    incoming_eta: datetime.date | None = None
    gtin: str | None = None
    title: str | None = None
    cost: decimal.Decimal | None = None
    as_of: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected record (line 0: a problem with the file as a whole, not one record)."""

    line: int
    sku: str | None
    reason: str
