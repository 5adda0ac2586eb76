"""Vendor variants and retailer items with their sources."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.catalog.gtin import is_valid_gtin
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.errors import InvalidInput, NotFound
from network.partners.models import Connection
from network.stock.models import StockPosition


def upsert_variant(
    session: Session,
    *,
    vendor_id: int,
    vendor_sku: str,
    title: str,
    gtin: str | None = None,
    cost: decimal.Decimal | None = None,
    msrp: decimal.Decimal | None = None,
    attributes: dict | None = None,
    active: bool = True,
    now: dt.datetime,
) -> tuple[VendorVariant, bool]:
    """Create or update a vendor's variant (and its empty stock position); return it and whether it is new.

    Raises InvalidInput.
    """
    vendor_sku = vendor_sku.strip()
    errors: dict[str, list[str]] = {}
    if not vendor_sku or len(vendor_sku) > 100:
        errors["vendor_sku"] = ["must be 1 to 100 characters"]
    if gtin and not is_valid_gtin(gtin):
        errors["gtin"] = ["not a valid GTIN (8, 12, 13 or 14 digits with a correct check digit)"]
    for name, value in (("cost", cost), ("msrp", msrp)):
        if value is not None and value < 0:
            errors[name] = ["must not be negative"]
    if errors:
        raise InvalidInput("invalid variant", errors=errors)
    variant = session.scalar(
        sa.select(VendorVariant).where(
            VendorVariant.vendor_id == vendor_id, VendorVariant.vendor_sku == vendor_sku
        )
    )
    created = variant is None
    if variant is None:
        variant = VendorVariant(vendor_id=vendor_id, vendor_sku=vendor_sku, created_at=now)
        session.add(variant)
    variant.title = title
    variant.gtin = gtin or None
    variant.cost = cost
    variant.msrp = msrp
    variant.attributes = attributes or {}
    variant.active = active
    variant.updated_at = now
    session.flush()
    if created:
        session.add(StockPosition(variant_id=variant.id, vendor_id=vendor_id, updated_at=now))
        session.flush()
    return variant, created


def connected_vendor_ids(retailer_id: int | sa.BindParameter) -> sa.Select:
    """Vendors whose catalog a retailer may see and source from: any connection not ended."""
    return sa.select(Connection.vendor_id).where(
        Connection.retailer_id == retailer_id, Connection.status != "ended"
    )


def list_variants_for_retailer(
    session: Session, *, retailer_id: int, after_id: int, limit: int, vendor_id: int | None = None
) -> list[VendorVariant]:
    query = (
        sa.select(VendorVariant)
        .where(
            VendorVariant.vendor_id.in_(connected_vendor_ids(retailer_id)),
            VendorVariant.id > after_id,
        )
        .order_by(VendorVariant.id)
        .limit(limit)
    )
    if vendor_id is not None:
        query = query.where(VendorVariant.vendor_id == vendor_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class SourceSpec:
    vendor_variant_id: int
    priority: int = 0


def put_item(
    session: Session,
    *,
    retailer_id: int,
    retailer_sku: str,
    title: str | None,
    sources: list[SourceSpec],
    now: dt.datetime,
) -> tuple[RetailerItem, bool]:
    """Create or replace a retailer item and its sources; return it and whether it is new.

    Raises InvalidInput when a source is not a variant of a connected vendor.
    """
    retailer_sku = retailer_sku.strip()
    if not retailer_sku or len(retailer_sku) > 100:
        raise InvalidInput(errors={"retailer_sku": ["must be 1 to 100 characters"]})
    wanted = [s.vendor_variant_id for s in sources]
    if len(set(wanted)) != len(wanted):
        raise InvalidInput(errors={"sources": ["a vendor variant may be listed once"]})
    visible = set(session.scalars(_VISIBLE_VARIANTS, {"ids": wanted, "retailer_id": retailer_id}))
    unknown = [v for v in wanted if v not in visible]
    if unknown:
        raise InvalidInput(
            "unknown vendor variant",
            errors={"sources": [f"vendor variant {v} is not offered by a connected vendor" for v in unknown]},
        )
    item = find_item(session, retailer_id=retailer_id, retailer_sku=retailer_sku)
    created = item is None
    if item is None:
        item = RetailerItem(retailer_id=retailer_id, retailer_sku=retailer_sku, created_at=now)
        session.add(item)
    if title is not None or created:
        item.title = title or ""
    item.updated_at = now
    by_variant = {s.variant_id: s for s in item.sources}
    item.sources = [_source(by_variant.get(spec.vendor_variant_id), spec) for spec in sources]
    session.flush()
    return item, created


def _source(existing: ItemSource | None, spec: SourceSpec) -> ItemSource:
    source = existing or ItemSource(variant_id=spec.vendor_variant_id)
    source.priority = spec.priority
    return source


def find_item(session: Session, *, retailer_id: int, retailer_sku: str) -> RetailerItem | None:
    return session.scalar(_ITEM_BY_SKU, {"retailer_id": retailer_id, "sku": retailer_sku})


# Built once: a catalog import puts thousands of items, and building these cost as much as running them.
_VISIBLE_VARIANTS = sa.select(VendorVariant.id).where(
    VendorVariant.id.in_(sa.bindparam("ids", expanding=True)),
    VendorVariant.vendor_id.in_(connected_vendor_ids(sa.bindparam("retailer_id"))),
)
_ITEM_BY_SKU = (
    sa.select(RetailerItem)
    .options(selectinload(RetailerItem.sources))
    .where(
        RetailerItem.retailer_id == sa.bindparam("retailer_id"),
        RetailerItem.retailer_sku == sa.bindparam("sku"),
    )
)


def get_item(session: Session, *, retailer_id: int, retailer_sku: str) -> RetailerItem:
    """Raises NotFound."""
    item = find_item(session, retailer_id=retailer_id, retailer_sku=retailer_sku)
    if item is None:
        raise NotFound(f"item {retailer_sku!r} not found")
    return item


def list_items(session: Session, *, retailer_id: int, after_id: int, limit: int) -> list[RetailerItem]:
    return list(
        session.scalars(
            sa.select(RetailerItem)
            .options(selectinload(RetailerItem.sources))
            .where(RetailerItem.retailer_id == retailer_id, RetailerItem.id > after_id)
            .order_by(RetailerItem.id)
            .limit(limit)
        )
    )
