"""Vendor variants and retailer items with their sources."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.catalog.gtin import is_valid_gtin
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.catalog.skus import checked_sku, normal_sku, sku_character_problem
from network.errors import InvalidInput, NotFound
from network.partners import audit
from network.partners.audit import Actor
from network.partners.models import Connection
from network.signals import Signal

# A new variant (session, variant, now=): stock opens its empty position (network/stock/__init__.py).
variant_created = Signal("catalog.variant_created")
# Many variants created at once (a catalog file): (session, vendor_id=, variant_ids=, now=).
variants_created = Signal("catalog.variants_created")

# What a vendor says about a variant besides its sku; a retailer lists the product with these.
CONTENT_FIELDS = (
    "title",
    "gtin",
    "cost",
    "msrp",
    "map_price",
    "weight",
    "description",
    "image_urls",
    "attributes",
    "active",
)
_EMPTY: dict[str, object] = {
    "title": "",
    "gtin": None,
    "cost": None,
    "msrp": None,
    "map_price": None,
    "weight": None,
    "description": "",
    "image_urls": [],
    "attributes": {},
    "active": True,
}
MAX_IMAGES = 20
WRITE_CHUNK = 1000
MAX_ATTRIBUTES = 100
SOURCES_CHANGED = "item.sources_changed"
GTIN_ERROR = "not a valid GTIN (8, 12, 13 or 14 digits with a correct check digit)"


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
    **content: object,
) -> tuple[VendorVariant, bool]:
    """Create or replace a vendor's variant (and its empty stock position); return it and whether it is new.

    Raises InvalidInput.
    """
    values = {"title": title, "gtin": gtin, "cost": cost, "msrp": msrp, "attributes": attributes}
    values["active"] = active
    variant, created, _ = write_variant(
        session,
        vendor_id=vendor_id,
        vendor_sku=vendor_sku,
        values={**values, **content},
        replace=True,
        now=now,
    )
    return variant, created


def write_variant(
    session: Session,
    *,
    vendor_id: int,
    vendor_sku: str,
    values: dict,
    replace: bool,
    now: dt.datetime,
) -> tuple[VendorVariant, bool, dict]:
    """Create or update a variant; return it, whether it is new, and {field: [before, after]}.

    `replace` resets the content fields `values` leaves out (a PUT); otherwise they are kept
    (a catalog import whose file has no such column). Raises InvalidInput.
    """
    vendor_sku = normal_sku(vendor_sku)
    unknown = sorted(set(values) - set(CONTENT_FIELDS))
    if unknown:
        raise InvalidInput("unknown variant fields", errors={name: ["unknown field"] for name in unknown})
    errors = variant_errors(vendor_sku, values)
    if errors:
        raise InvalidInput("invalid variant", errors=errors)
    variant = find_variant(session, vendor_id=vendor_id, vendor_sku=vendor_sku)
    created = variant is None
    diff = variant_changes(variant, values, replace=replace)
    if variant is None:
        variant = VendorVariant(vendor_id=vendor_id, vendor_sku=vendor_sku, created_at=now)
        session.add(variant)
    for name, (_, after) in diff.items():
        setattr(variant, name, after)
    if created or diff:
        variant.updated_at = now
    session.flush()
    if created:
        variant_created.send(session, variant, now=now)
    return variant, created, {} if created else json_diff(diff)


def insert_variants(
    session: Session, *, vendor_id: int, rows: Sequence[tuple[str, dict]], now: dt.datetime
) -> dict[str, int]:
    """Create many new variants (and their empty stock positions) in a few statements; return
    {sku: id}. For a catalog file: one INSERT per row would cost seconds per thousand rows.

    Raises InvalidInput naming the first bad row's fields (nothing is written then).
    """
    records = []
    for raw_sku, values in rows:
        vendor_sku = normal_sku(raw_sku)
        errors = variant_errors(vendor_sku, values)
        if errors:
            raise InvalidInput(f"invalid variant {vendor_sku!r}", errors=errors)
        fields = {name: _normal(name, value) for name, value in {**_EMPTY, **values}.items()}
        records.append(
            {**fields, "vendor_id": vendor_id, "vendor_sku": vendor_sku, "created_at": now, "updated_at": now}
        )
    ids: dict[str, int] = {}
    for start in range(0, len(records), WRITE_CHUNK):
        chunk = records[start : start + WRITE_CHUNK]
        ids.update(
            (sku, variant_id)
            for variant_id, sku in session.execute(
                sa.insert(VendorVariant).returning(VendorVariant.id, VendorVariant.vendor_sku), chunk
            )
        )
        variants_created.send(
            session, vendor_id=vendor_id, variant_ids=[ids[r["vendor_sku"]] for r in chunk], now=now
        )
    return ids


def variant_changes(variant: VendorVariant | None, values: dict, *, replace: bool) -> dict:
    """What saving `values` would change: {field: (before, after)}; every field for a new variant
    (before None). Pure: reads the variant, writes nothing."""
    wanted = {**_EMPTY, **values} if replace or variant is None else values
    diff = {}
    for name, value in wanted.items():
        value = _normal(name, value)
        before = None if variant is None else getattr(variant, name)
        if variant is None or before != value:
            diff[name] = (before, value)
    return diff


def json_diff(diff: dict) -> dict:
    """A diff as events and the ledger carry it: {field: [before, after]} in JSON values."""
    return {name: [jsonable(before), jsonable(after)] for name, (before, after) in diff.items()}


def _normal(name: str, value: object) -> object:
    if value is None and name in ("title", "description"):
        return ""
    if name == "gtin":
        return value or None
    if name in ("image_urls", "attributes") and value is None:
        return [] if name == "image_urls" else {}
    if isinstance(value, decimal.Decimal):
        return value.quantize(decimal.Decimal("0.0001"))
    return value


def jsonable(value: object) -> object:
    """A field's value as JSON carries it: decimals as exact strings with at least cents (12.50)."""
    if isinstance(value, decimal.Decimal):
        short = value.normalize()
        if short.as_tuple().exponent > -2:
            short = value.quantize(decimal.Decimal("0.01"))
        return format(short, "f")
    return value


def variant_errors(vendor_sku: str, values: dict) -> dict[str, list[str]]:
    """Field messages for a variant's sku and values; empty when they are acceptable."""
    errors: dict[str, list[str]] = {}
    if not vendor_sku or len(vendor_sku) > 100:
        errors["vendor_sku"] = ["must be 1 to 100 characters"]
    elif problem := sku_character_problem(vendor_sku):
        errors["vendor_sku"] = [problem]
    gtin = values.get("gtin")
    if gtin and not is_valid_gtin(gtin):
        errors["gtin"] = ["not a valid GTIN (8, 12, 13 or 14 digits with a correct check digit)"]
    for name in ("cost", "msrp", "map_price", "weight"):
        value = values.get(name)
        if value is not None and (not value.is_finite() or value < 0 or value >= 10**8):
            errors[name] = ["must be a number from 0 to 99999999.9999"]
    title = values.get("title")
    if title is not None and len(title) > 300:
        errors["title"] = ["at most 300 characters"]
    description = values.get("description")
    if description is not None and len(description) > 20_000:
        errors["description"] = ["at most 20000 characters"]
    images = values.get("image_urls") or []
    if len(images) > MAX_IMAGES:
        errors["image_urls"] = [f"at most {MAX_IMAGES} images"]
    elif any(not _is_web_url(url) for url in images):
        errors["image_urls"] = ["each must be an http(s) URL of at most 2000 characters"]
    attributes = values.get("attributes") or {}
    if len(attributes) > MAX_ATTRIBUTES:
        errors["attributes"] = [f"at most {MAX_ATTRIBUTES} attributes"]
    elif any(not k or len(k) > 100 or len(str(v)) > 1000 for k, v in attributes.items()):
        errors["attributes"] = ["names of 1 to 100 characters, values of at most 1000"]
    return errors


def _is_web_url(url: object) -> bool:
    if not isinstance(url, str) or len(url) > 2000:
        return False
    scheme, _, rest = url.partition("://")
    return scheme.lower() in ("http", "https") and bool(rest) and not any(c.isspace() for c in url)


def find_variant(session: Session, *, vendor_id: int, vendor_sku: str) -> VendorVariant | None:
    return session.scalar(
        sa.select(VendorVariant).where(
            VendorVariant.vendor_id == vendor_id, VendorVariant.vendor_sku == normal_sku(vendor_sku)
        )
    )


def get_variant(session: Session, *, vendor_id: int, vendor_sku: str) -> VendorVariant:
    """Raises NotFound."""
    variant = find_variant(session, vendor_id=vendor_id, vendor_sku=vendor_sku)
    if variant is None:
        raise NotFound(f"variant {vendor_sku!r} not found")
    return variant


def get_own_variant(session: Session, variant_id: int, *, vendor_id: int) -> VendorVariant:
    """Raises NotFound (also for another vendor's variant)."""
    variant = session.get(VendorVariant, variant_id)
    if variant is None or variant.vendor_id != vendor_id:
        raise NotFound(f"variant {variant_id} not found")
    return variant


def list_own_variants(
    session: Session, *, vendor_id: int, after_id: int, limit: int, search: str | None = None
) -> list[VendorVariant]:
    """A vendor's variants in id order; `search` matches sku, title or GTIN (case-insensitive)."""
    query = (
        sa.select(VendorVariant)
        .where(VendorVariant.vendor_id == vendor_id, VendorVariant.id > after_id)
        .order_by(VendorVariant.id)
        .limit(limit)
    )
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                VendorVariant.vendor_sku.ilike(pattern, escape="\\"),
                VendorVariant.title.ilike(pattern, escape="\\"),
                VendorVariant.gtin == search,
            )
        )
    return list(session.scalars(query))


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


_KEEP = object()


def put_item(
    session: Session,
    *,
    retailer_id: int,
    retailer_sku: str,
    title: str | None,
    sources: list[SourceSpec],
    now: dt.datetime,
    gtin: str | None | object = _KEEP,
    actor: Actor | None = None,
) -> tuple[RetailerItem, bool]:
    """Create or replace a retailer item and its sources; return it and whether it is new.

    `gtin` left out keeps the item's (None clears it). With an `actor`, a change of the sources
    is written to the retailer's audit log, as the console's mappings are.
    Raises InvalidInput when a source is not a variant of a connected vendor, or a bad GTIN.
    """
    retailer_sku = checked_sku(retailer_sku, field="retailer_sku", max_length=100)
    if gtin is not _KEEP and gtin is not None and not is_valid_gtin(gtin):
        raise InvalidInput(errors={"gtin": [GTIN_ERROR]})
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
    before = None if created else sources_of(item)
    if title is not None or created:
        item.title = title or ""
    if gtin is not _KEEP:
        item.gtin = gtin
    item.updated_at = now
    by_variant = {s.variant_id: s for s in item.sources}
    item.sources = [_source(by_variant.get(spec.vendor_variant_id), spec) for spec in sources]
    session.flush()
    if actor is not None:
        after = sources_of(item, refresh=session)
        if created or after != before:
            record_sources(session, item, before, after, actor=actor, now=now)
    return item, created


def sources_of(item: RetailerItem, *, refresh: Session | None = None) -> list[dict]:
    """An item's sources as the audit log keeps them (readable once the variant is gone)."""
    if refresh is not None:
        refresh.flush()
        refresh.refresh(item, ["sources"])
    return [
        {
            "vendor_variant_id": s.variant_id,
            "vendor_id": s.variant.vendor_id,
            "vendor_sku": s.variant.vendor_sku,
            "priority": s.priority,
        }
        for s in sorted(item.sources, key=lambda s: (s.priority, s.variant_id))
    ]


def record_sources(
    session: Session,
    item: RetailerItem,
    before: list[dict] | None,
    after: list[dict],
    *,
    actor: Actor,
    now: dt.datetime,
) -> None:
    """Write a change of an item's sources to the retailer's audit log (before None: a new item)."""
    audit.record(
        session,
        org_id=item.retailer_id,
        actor=actor,
        action=SOURCES_CHANGED,
        subject=f"item {item.retailer_sku}",
        before=None if before is None else {"sources": before},
        after={"sources": after},
        now=now,
    )


def _source(existing: ItemSource | None, spec: SourceSpec) -> ItemSource:
    source = existing or ItemSource(variant_id=spec.vendor_variant_id)
    source.priority = spec.priority
    return source


def find_item(session: Session, *, retailer_id: int, retailer_sku: str) -> RetailerItem | None:
    return session.scalar(_ITEM_BY_SKU, {"retailer_id": retailer_id, "sku": normal_sku(retailer_sku)})


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
