"""Every variant has one stock position, opened empty when the catalog creates the variant."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.catalog.services import variant_created, variants_created
from network.stock.models import StockPosition


@variant_created.connect
def open_position(session: Session, variant: VendorVariant, *, now: dt.datetime) -> None:
    session.add(StockPosition(variant_id=variant.id, vendor_id=variant.vendor_id, updated_at=now))
    session.flush()


@variants_created.connect
def open_positions(session: Session, *, vendor_id: int, variant_ids: list[int], now: dt.datetime) -> None:
    session.execute(
        sa.insert(StockPosition),
        [{"variant_id": variant_id, "vendor_id": vendor_id, "updated_at": now} for variant_id in variant_ids],
    )
