"""The console's Catalog pages: the connected vendors' variants and the retailer's items with
their sources, searched and keyset-paginated, two queries a page whatever the catalog's size
(the page's rows, then what the rows link to for those rows only)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.catalog.services import connected_vendor_ids
from network.partners.models import Organization
from network.portal_views.stock import like_pattern

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class UsedBy:
    item_id: int
    retailer_sku: str
    priority: int


@dataclass(frozen=True)
class VariantRow:
    variant_id: int
    vendor_id: int
    vendor_name: str
    vendor_sku: str
    gtin: str | None
    title: str
    active: bool
    used_by: list[UsedBy]


@dataclass(frozen=True)
class SourceRow:
    variant_id: int
    vendor_id: int
    vendor_name: str
    vendor_sku: str
    gtin: str | None
    active: bool
    priority: int


@dataclass(frozen=True)
class ItemRow:
    item_id: int
    retailer_sku: str
    title: str
    gtin: str | None
    sources: list[SourceRow]


@dataclass(frozen=True)
class Page:
    rows: list
    next_after: int | None  # the id to continue after, or None on the last page


def page_size(asked: int | None) -> int:
    return min(max(asked or PAGE_SIZE, 1), MAX_PAGE_SIZE)


def _page(rows: list, limit: int, key: str) -> tuple[list, int | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, getattr(rows[-1], key) if more else None


def list_variants(
    session: Session,
    *,
    retailer_id: int,
    search: str = "",
    after_id: int = 0,
    limit: int = PAGE_SIZE,
    unmapped: bool = False,
) -> Page:
    """Connected vendors' variants (connections not ended) in id order, with the items using them.

    `search` finds a vendor SKU or title containing it, or the exact GTIN; `unmapped` keeps the
    variants none of the retailer's items uses.
    """
    query = (
        sa.select(
            VendorVariant.id,
            VendorVariant.vendor_id,
            Organization.name,
            VendorVariant.vendor_sku,
            VendorVariant.gtin,
            VendorVariant.title,
            VendorVariant.active,
        )
        .join(Organization, Organization.id == VendorVariant.vendor_id)
        .where(VendorVariant.vendor_id.in_(connected_vendor_ids(retailer_id)), VendorVariant.id > after_id)
        .order_by(VendorVariant.id)
        .limit(limit + 1)
    )
    if search:
        pattern = like_pattern(search)
        query = query.where(
            sa.or_(
                VendorVariant.vendor_sku.ilike(pattern, escape="\\"),
                VendorVariant.title.ilike(pattern, escape="\\"),
                VendorVariant.gtin == search,
            )
        )
    if unmapped:
        used = (
            sa.select(ItemSource.id)
            .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
            .where(ItemSource.variant_id == VendorVariant.id, RetailerItem.retailer_id == retailer_id)
            .exists()
        )
        query = query.where(~used)
    rows, next_after = _page(session.execute(query).all(), limit, "id")
    used_by: dict[int, list[UsedBy]] = defaultdict(list)
    if rows and not unmapped:
        for variant_id, item_id, sku, priority in session.execute(
            sa.select(ItemSource.variant_id, RetailerItem.id, RetailerItem.retailer_sku, ItemSource.priority)
            .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
            .where(ItemSource.variant_id.in_([r.id for r in rows]), RetailerItem.retailer_id == retailer_id)
            .order_by(RetailerItem.retailer_sku)
        ):
            used_by[variant_id].append(UsedBy(item_id, sku, priority))
    return Page([VariantRow(*row, used_by=used_by.get(row.id, [])) for row in rows], next_after)


def list_items(
    session: Session,
    *,
    retailer_id: int,
    search: str = "",
    after_id: int = 0,
    limit: int = PAGE_SIZE,
    unmapped: bool = False,
) -> Page:
    """The retailer's items in id order with their sources (priority order).

    `search` finds a retailer SKU or title containing it, or the exact GTIN; `unmapped` keeps
    the items without any source.
    """
    query = (
        sa.select(RetailerItem.id, RetailerItem.retailer_sku, RetailerItem.title, RetailerItem.gtin)
        .where(RetailerItem.retailer_id == retailer_id, RetailerItem.id > after_id)
        .order_by(RetailerItem.id)
        .limit(limit + 1)
    )
    if search:
        pattern = like_pattern(search)
        query = query.where(
            sa.or_(
                RetailerItem.retailer_sku.ilike(pattern, escape="\\"),
                RetailerItem.title.ilike(pattern, escape="\\"),
                RetailerItem.gtin == search,
            )
        )
    if unmapped:
        query = query.where(~sa.select(ItemSource.id).where(ItemSource.item_id == RetailerItem.id).exists())
    rows, next_after = _page(session.execute(query).all(), limit, "id")
    sources = item_sources(session, [r.id for r in rows]) if rows and not unmapped else {}
    return Page([ItemRow(*row, sources=sources.get(row.id, [])) for row in rows], next_after)


def item_sources(session: Session, item_ids: list[int]) -> dict[int, list[SourceRow]]:
    """The sources of these items with their vendors' names, in priority order (one query)."""
    found: dict[int, list[SourceRow]] = defaultdict(list)
    for item_id, *fields in session.execute(
        sa.select(
            ItemSource.item_id,
            VendorVariant.id,
            VendorVariant.vendor_id,
            Organization.name,
            VendorVariant.vendor_sku,
            VendorVariant.gtin,
            VendorVariant.active,
            ItemSource.priority,
        )
        .join(VendorVariant, VendorVariant.id == ItemSource.variant_id)
        .join(Organization, Organization.id == VendorVariant.vendor_id)
        .where(ItemSource.item_id.in_(item_ids))
        .order_by(ItemSource.item_id, ItemSource.priority, VendorVariant.id)
    ):
        found[item_id].append(SourceRow(*fields))
    return found
