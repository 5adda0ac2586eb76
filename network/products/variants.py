"""Save a vendor's variant and tell whoever the change concerns."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.services import items_sourcing, publish_changes
from network.catalog import services as catalog
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.outbox.events import CatalogChanged
from network.outbox.services import record_many
from network.partners.models import Connection
from network.products.discontinue import flag_open_lines
from network.stock import ledger

# Changes a retailer acts on (its listing, its margin); `active` reaches it as availability.
CHUNK = 1000
RETAILER_FACING = tuple(name for name in catalog.CONTENT_FIELDS if name != "active")


def save_variant(
    session: Session,
    *,
    vendor_id: int,
    vendor_sku: str,
    values: dict,
    replace: bool,
    now: dt.datetime,
) -> tuple[VendorVariant, bool, dict]:
    """Create or update a variant, publish availability if it moved, flag its open lines when it is
    discontinued (active -> false), and send `catalog.changed` to every retailer whose items it
    sources. Returns (variant, created, diff). Raises InvalidInput.
    """
    variant, created, diff = catalog.write_variant(
        session, vendor_id=vendor_id, vendor_sku=vendor_sku, values=values, replace=replace, now=now
    )
    if "active" in diff:
        # Inactive counts zero for every retailer: the ledger explains that figure too.
        ledger.note(
            session,
            variant_ids=[variant.id],
            reason="active",
            changes={"active": diff["active"]},
            ref={},
            at=now,
        )
        publish_changes(session, items_sourcing(session, [variant.id]), now=now)
        if diff["active"] == [True, False]:
            # Discontinued (portal or `active: false` by API): the retailers hear of its open lines.
            flag_open_lines(session, variant, now=now)
    tell_retailers(session, variant, diff, now=now)
    return variant, created, diff


def save_many(
    session: Session,
    *,
    vendor_id: int,
    new: Sequence[tuple[str, dict]],
    changed: Sequence[tuple[VendorVariant, dict]],
    now: dt.datetime,
) -> None:
    """Create and update many variants at once (a catalog file), with what save_variant does for
    each: availability, flags and ledger for `active`, `catalog.changed` to the retailers.

    Raises InvalidInput.
    """
    catalog.insert_variants(session, vendor_id=vendor_id, rows=new, now=now)
    diffs = []
    for variant, values in changed:
        diff = catalog.variant_changes(variant, values, replace=False)
        if not diff:
            continue
        for name, (_, after) in diff.items():
            setattr(variant, name, after)
        variant.updated_at = now
        diffs.append((variant, catalog.json_diff(diff)))
    session.flush()
    for variant, diff in diffs:
        if "active" in diff:
            _active_moved(session, variant, diff, now=now)
    tell_retailers_many(session, diffs, now=now)


def _active_moved(session: Session, variant: VendorVariant, diff: dict, *, now: dt.datetime) -> None:
    # Inactive counts zero for every retailer: the ledger explains that figure too.
    ledger.note(
        session, variant_ids=[variant.id], reason="active", changes={"active": diff["active"]}, ref={}, at=now
    )
    publish_changes(session, items_sourcing(session, [variant.id]), now=now)
    if diff["active"] == [True, False]:
        # Discontinued (portal or `active: false` by API): the retailers hear of its open lines.
        flag_open_lines(session, variant, now=now)


def tell_retailers(session: Session, variant: VendorVariant, diff: dict, *, now: dt.datetime) -> None:
    """Record `catalog.changed` for each retailer with an item sourced by the variant."""
    tell_retailers_many(session, [(variant, diff)], now=now)


def tell_retailers_many(
    session: Session, diffs: Sequence[tuple[VendorVariant, dict]], *, now: dt.datetime
) -> None:
    """Record `catalog.changed` for each (variant, retailer with an item it sources), one query per
    thousand variants."""
    facing = {
        variant.id: (variant, {name: diff[name] for name in RETAILER_FACING if name in diff})
        for variant, diff in diffs
    }
    facing = {variant_id: pair for variant_id, pair in facing.items() if pair[1]}
    ids = sorted(facing)
    events = []
    for start in range(0, len(ids), CHUNK):
        skus: dict[tuple[int, int], list[str]] = defaultdict(list)
        rows = session.execute(
            sa.select(ItemSource.variant_id, RetailerItem.retailer_id, RetailerItem.retailer_sku)
            .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
            .join(VendorVariant, VendorVariant.id == ItemSource.variant_id)
            .join(
                Connection,
                sa.and_(
                    Connection.retailer_id == RetailerItem.retailer_id,
                    Connection.vendor_id == VendorVariant.vendor_id,
                    Connection.status != "ended",
                ),
            )
            .where(ItemSource.variant_id.in_(ids[start : start + CHUNK]))
            .order_by(ItemSource.variant_id, RetailerItem.retailer_id, RetailerItem.retailer_sku)
        )
        for variant_id, retailer_id, retailer_sku in rows:
            skus[(variant_id, retailer_id)].append(retailer_sku)
        for (variant_id, retailer_id), retailer_skus in skus.items():
            variant, changes = facing[variant_id]
            event = CatalogChanged(
                vendor_id=variant.vendor_id,
                vendor_variant_id=variant.id,
                vendor_sku=variant.vendor_sku,
                retailer_skus=retailer_skus,
                changes=changes,
            )
            events.append((retailer_id, f"variant:{variant.id}", event))
    record_many(session, events, now=now)
