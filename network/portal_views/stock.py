"""The vendor's stock list: search and keyset pages over its variants with their positions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.partners.models import Connection
from network.stock.models import StockPosition, StockSnapshot
from network.stock.rules import effective_as_of

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class StockRow:
    variant_id: int
    sku: str
    title: str
    gtin: str | None
    active: bool
    quantity: int
    committed: int
    damaged: int
    pending_inspection: int
    incoming: int
    incoming_eta: dt.date | None
    basis: str
    as_of: dt.datetime | None

    @property
    def sellable(self) -> int:
        """Units still free to promise: the vendor's count less what hub orders hold."""
        return max(0, self.quantity - self.committed)


@dataclass(frozen=True)
class StockPage:
    rows: list[StockRow]
    # The sku to continue after, or None on the last page.
    next_after: str | None


def like_pattern(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, with the user's % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_stock(
    session: Session,
    *,
    vendor_id: int,
    search: str = "",
    after_sku: str | None = None,
    limit: int = PAGE_SIZE,
) -> StockPage:
    """Return one page of the vendor's variants in sku order, optionally matching a search."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _rows_of(vendor_id).order_by(VendorVariant.vendor_sku).limit(limit + 1)
    search = search.strip()
    if search:
        pattern = like_pattern(search)
        query = query.where(
            sa.or_(
                VendorVariant.vendor_sku.ilike(pattern, escape="\\"),
                VendorVariant.title.ilike(pattern, escape="\\"),
                VendorVariant.gtin == search,
            )
        )
    if after_sku:
        query = query.where(VendorVariant.vendor_sku > after_sku)
    rows = [_row(r) for r in session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return StockPage(rows=rows, next_after=rows[-1].sku if more else None)


def _rows_of(vendor_id: int) -> sa.Select:
    return (
        sa.select(
            VendorVariant.id,
            VendorVariant.vendor_sku,
            VendorVariant.title,
            VendorVariant.gtin,
            VendorVariant.active,
            StockPosition.quantity,
            StockPosition.committed,
            StockPosition.damaged,
            StockPosition.pending_inspection,
            StockPosition.incoming,
            StockPosition.incoming_eta,
            StockPosition.basis,
            StockPosition.as_of,
            StockSnapshot.as_of.label("snapshot_as_of"),
        )
        .join(StockPosition, StockPosition.variant_id == VendorVariant.id)
        .outerjoin(StockSnapshot, StockSnapshot.vendor_id == VendorVariant.vendor_id)
        .where(VendorVariant.vendor_id == vendor_id)
    )


def _row(r: sa.Row) -> StockRow:
    return StockRow(
        variant_id=r.id,
        sku=r.vendor_sku,
        title=r.title,
        gtin=r.gtin,
        active=r.active,
        quantity=r.quantity,
        committed=r.committed,
        damaged=r.damaged,
        pending_inspection=r.pending_inspection,
        incoming=r.incoming,
        incoming_eta=r.incoming_eta,
        basis=r.basis,
        as_of=effective_as_of(r.as_of, r.snapshot_as_of),
    )


def shortest_stale_after(session: Session, *, vendor_id: int) -> dt.timedelta | None:
    """How old the vendor's counts may get before they stop counting for at least one retailer."""
    minutes = session.scalar(
        sa.select(sa.func.min(Connection.stale_after_minutes)).where(
            Connection.vendor_id == vendor_id, Connection.status == "active"
        )
    )
    return None if minutes is None else dt.timedelta(minutes=minutes)
