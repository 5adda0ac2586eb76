"""Mapping a retailer's items to its connected vendors' variants: one by one, and by GTIN.

One rule for every way in (the console's forms, its CSV import, GTIN auto-match): a source is a
variant of a vendor the retailer is connected to, an item has at most MAX_SOURCES of them, a
priority is 0 to MAX_PRIORITY, and every change is written to the retailer's audit log with the
sources before and after. The caller publishes the changed items' availability (a higher area).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.catalog.gtin import is_valid_gtin
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.catalog.services import (
    GTIN_ERROR,
    connected_vendor_ids,
    find_item,
    record_sources,
    sources_of,
)
from network.catalog.skus import checked_sku
from network.errors import InvalidInput, NotFound
from network.partners.audit import Actor
from network.partners.models import Connection, Organization

MAX_SOURCES = 50  # as the API's PUT /items/{sku} allows
MAX_PRIORITY = 1_000_000


def active_vendor_ids(retailer_id: int | sa.BindParameter) -> sa.Select:
    """Vendors whose variants GTIN auto-match suggests: connections that are active (not paused)."""
    return sa.select(Connection.vendor_id).where(
        Connection.retailer_id == retailer_id, Connection.status == "active"
    )


def get_own_item(session: Session, item_id: int, *, retailer_id: int) -> RetailerItem:
    """Raises NotFound (also for another retailer's item)."""
    item = session.get(RetailerItem, item_id)
    if item is None or item.retailer_id != retailer_id:
        raise NotFound(f"item {item_id} not found")
    return item


def get_visible_variant(session: Session, variant_id: int, *, retailer_id: int) -> VendorVariant:
    """A variant of a vendor the retailer is connected to. Raises NotFound (any other variant)."""
    variant = session.scalar(
        sa.select(VendorVariant).where(
            VendorVariant.id == variant_id, VendorVariant.vendor_id.in_(connected_vendor_ids(retailer_id))
        )
    )
    if variant is None:
        raise NotFound(f"vendor variant {variant_id} not found")
    return variant


def _record(
    session: Session, item: RetailerItem, before: list[dict] | None, *, actor: Actor, now: dt.datetime
) -> None:
    record_sources(session, item, before, sources_of(item, refresh=session), actor=actor, now=now)


def item_errors(*, title: str | None, gtin: str | None, priority: int) -> dict[str, list[str]]:
    """Field messages for what a mapping says about its item and source (empty: acceptable)."""
    errors: dict[str, list[str]] = {}
    if title is not None and len(title) > 300:
        errors["title"] = ["at most 300 characters"]
    if gtin and not is_valid_gtin(gtin):
        errors["gtin"] = [GTIN_ERROR]
    if not 0 <= priority <= MAX_PRIORITY:
        errors["priority"] = [f"must be a whole number from 0 to {MAX_PRIORITY}"]
    return errors


@dataclass(frozen=True)
class Mapped:
    item: RetailerItem
    created: bool  # the item is new
    changed: bool  # anything changed (a mapping posted twice changes nothing the second time)


def map_source(
    session: Session,
    *,
    retailer_id: int,
    retailer_sku: str,
    variant_id: int,
    priority: int,
    title: str | None = None,
    gtin: str | None = None,
    actor: Actor,
    now: dt.datetime,
) -> Mapped:
    """Make a connected vendor's variant a source of the item (created when new) at `priority`;
    a source it already has gets the new priority. A blank title or GTIN keeps the item's.

    Raises NotFound (the variant is not a connected vendor's), InvalidInput.
    """
    retailer_sku = checked_sku(retailer_sku, field="retailer_sku", max_length=100)
    title = (title or "").strip() or None
    gtin = (gtin or "").strip() or None
    errors = item_errors(title=title, gtin=gtin, priority=priority)
    if errors:
        raise InvalidInput("check the mapping", errors=errors)
    variant = get_visible_variant(session, variant_id, retailer_id=retailer_id)
    item = find_item(session, retailer_id=retailer_id, retailer_sku=retailer_sku)
    created = item is None
    if item is None:
        item = RetailerItem(
            retailer_id=retailer_id, retailer_sku=retailer_sku, title="", created_at=now, updated_at=now
        )
        session.add(item)
        before = None
    else:
        before = sources_of(item)
    existing = next((s for s in item.sources if s.variant_id == variant.id), None)
    if existing is None and len(item.sources) >= MAX_SOURCES:
        raise InvalidInput(
            f"an item has at most {MAX_SOURCES} sources",
            errors={"retailer_sku": [f"{retailer_sku} already has {MAX_SOURCES} sources"]},
        )
    changed = created or existing is None or existing.priority != priority
    if existing is None:
        item.sources.append(ItemSource(variant_id=variant.id, priority=priority))
    else:
        existing.priority = priority
    for name, value in (("title", title), ("gtin", gtin)):
        if value is not None and getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    if changed:
        item.updated_at = now
        _record(session, item, before, actor=actor, now=now)
    session.flush()
    return Mapped(item, created, changed)


def unmap_source(
    session: Session, *, retailer_id: int, item_id: int, variant_id: int, actor: Actor, now: dt.datetime
) -> RetailerItem:
    """Remove one source from an item (the item stays, with its GTIN, for a new match).

    Raises NotFound (another retailer's item, or a variant that is not its source).
    """
    item = get_own_item(session, item_id, retailer_id=retailer_id)
    source = next((s for s in item.sources if s.variant_id == variant_id), None)
    if source is None:
        raise NotFound(f"vendor variant {variant_id} is not a source of {item.retailer_sku}")
    before = sources_of(item)
    item.sources.remove(source)
    item.updated_at = now
    _record(session, item, before, actor=actor, now=now)
    return item


# --- GTIN auto-match -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    variant_id: int
    vendor_id: int
    vendor_name: str
    vendor_sku: str
    title: str


@dataclass(frozen=True)
class GtinMatch:
    """An item without a source, and the active vendors' variants that carry its GTIN."""

    item_id: int
    retailer_sku: str
    title: str
    gtin: str
    candidates: list[Candidate]


def _matching_variants(retailer_id: int) -> sa.Select:
    return sa.select(VendorVariant.id).where(
        VendorVariant.vendor_id.in_(active_vendor_ids(retailer_id)), VendorVariant.active.is_(True)
    )


def gtin_matches(session: Session, *, retailer_id: int, after_id: int, limit: int) -> list[GtinMatch]:
    """Items without a source whose GTIN an active connected vendor offers, in id order, with
    their candidates (the vendor the retailer routes to first on top). Two queries a page."""
    offered = (
        sa.select(VendorVariant.id)
        .where(
            VendorVariant.gtin == RetailerItem.gtin,
            VendorVariant.active.is_(True),
            VendorVariant.vendor_id.in_(active_vendor_ids(retailer_id)),
        )
        .exists()
    )
    has_source = sa.select(ItemSource.id).where(ItemSource.item_id == RetailerItem.id).exists()
    items = session.execute(
        sa.select(RetailerItem.id, RetailerItem.retailer_sku, RetailerItem.title, RetailerItem.gtin)
        .where(
            RetailerItem.retailer_id == retailer_id,
            RetailerItem.id > after_id,
            RetailerItem.gtin.is_not(None),
            ~has_source,
            offered,
        )
        .order_by(RetailerItem.id)
        .limit(limit)
    ).all()
    if not items:
        return []
    candidates = _candidates(session, retailer_id=retailer_id, gtins={row.gtin for row in items})
    return [
        GtinMatch(row.id, row.retailer_sku, row.title, row.gtin, candidates.get(row.gtin, []))
        for row in items
    ]


def _candidates(session: Session, *, retailer_id: int, gtins: set[str]) -> dict[str, list[Candidate]]:
    rows = session.execute(
        sa.select(
            VendorVariant.gtin,
            VendorVariant.id,
            VendorVariant.vendor_id,
            Organization.name,
            VendorVariant.vendor_sku,
            VendorVariant.title,
        )
        .join(Organization, Organization.id == VendorVariant.vendor_id)
        .join(
            Connection,
            sa.and_(Connection.vendor_id == VendorVariant.vendor_id, Connection.retailer_id == retailer_id),
        )
        .where(
            VendorVariant.gtin.in_(sorted(gtins)),
            VendorVariant.active.is_(True),
            Connection.status == "active",
        )
        .order_by(Connection.routing_priority, VendorVariant.vendor_id, VendorVariant.id)
    )
    found: dict[str, list[Candidate]] = defaultdict(list)
    for gtin, *fields in rows:
        found[gtin].append(Candidate(*fields))
    return found


def accept_gtin_matches(
    session: Session,
    *,
    retailer_id: int,
    picks: Sequence[tuple[int, int]],
    actor: Actor,
    now: dt.datetime,
) -> list[int]:
    """Add the picked (item id, variant id) sources; return the ids of the items changed.

    Each pick must still be a match: the variant is active, of an active connection, and carries
    the item's GTIN. New sources follow the item's existing ones, in the retailer's routing order.
    All or nothing: raises NotFound (an item that is not the retailer's, a variant it cannot
    see), InvalidInput (a pick that no longer matches).
    """
    picks = list(dict.fromkeys(picks))
    if not picks:
        raise InvalidInput("choose at least one match", errors={"match": ["choose at least one match"]})
    item_ids = sorted({item_id for item_id, _ in picks})
    items = {
        item.id: item
        for item in session.scalars(
            sa.select(RetailerItem)
            .options(selectinload(RetailerItem.sources).selectinload(ItemSource.variant))
            .where(RetailerItem.id.in_(item_ids), RetailerItem.retailer_id == retailer_id)
        )
    }
    if len(items) != len(item_ids):
        raise NotFound("an item of the selection is not one of yours")
    variant_ids = sorted({variant_id for _, variant_id in picks})
    ranked = session.execute(
        sa.select(VendorVariant, Connection.routing_priority)
        .join(
            Connection,
            sa.and_(Connection.vendor_id == VendorVariant.vendor_id, Connection.retailer_id == retailer_id),
        )
        .where(VendorVariant.id.in_(variant_ids), Connection.status != "ended")
    ).all()
    variants = {variant.id: (variant, rank) for variant, rank in ranked}
    if len(variants) != len(variant_ids):
        raise NotFound("a vendor variant of the selection is not offered by a connected vendor")
    active = set(session.scalars(_matching_variants(retailer_id).where(VendorVariant.id.in_(variant_ids))))
    by_item: dict[int, list[VendorVariant]] = defaultdict(list)
    for item_id, variant_id in picks:
        item, (variant, _) = items[item_id], variants[variant_id]
        if variant_id not in active or not item.gtin or variant.gtin != item.gtin:
            raise InvalidInput(
                f"{variant.vendor_sku} no longer matches {item.retailer_sku}",
                errors={"match": [f"{variant.vendor_sku} no longer matches {item.retailer_sku}"]},
            )
        by_item[item_id].append(variant)
    changed = []
    for item_id in item_ids:
        item = items[item_id]
        have = {s.variant_id for s in item.sources}
        new = sorted(
            (v for v in by_item[item_id] if v.id not in have),
            key=lambda v: (variants[v.id][1], v.vendor_id, v.id),
        )
        if not new:
            continue
        if len(item.sources) + len(new) > MAX_SOURCES:
            raise InvalidInput(
                f"an item has at most {MAX_SOURCES} sources",
                errors={"match": [f"{item.retailer_sku} would have more than {MAX_SOURCES} sources"]},
            )
        before = sources_of(item)
        start = max((s.priority for s in item.sources), default=-1) + 1
        for offset, variant in enumerate(new):
            item.sources.append(ItemSource(variant_id=variant.id, priority=min(start + offset, MAX_PRIORITY)))
        item.updated_at = now
        _record(session, item, before, actor=actor, now=now)
        changed.append(item_id)
    return changed
