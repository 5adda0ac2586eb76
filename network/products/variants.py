"""Save a vendor's variant and tell whoever the change concerns."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

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


def tell_retailers(session: Session, variant: VendorVariant, diff: dict, *, now: dt.datetime) -> None:
    """Record `catalog.changed` for each retailer with an item sourced by the variant."""
    changes = {name: diff[name] for name in RETAILER_FACING if name in diff}
    if not changes:
        return
    skus: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        sa.select(RetailerItem.retailer_id, RetailerItem.retailer_sku)
        .join(ItemSource, ItemSource.item_id == RetailerItem.id)
        .join(
            Connection,
            sa.and_(
                Connection.retailer_id == RetailerItem.retailer_id,
                Connection.vendor_id == variant.vendor_id,
                Connection.status != "ended",
            ),
        )
        .where(ItemSource.variant_id == variant.id)
        .order_by(RetailerItem.retailer_id, RetailerItem.retailer_sku)
    )
    for retailer_id, retailer_sku in rows:
        skus[retailer_id].append(retailer_sku)
    key = f"variant:{variant.id}"
    record_many(
        session,
        [
            (
                retailer_id,
                key,
                CatalogChanged(
                    vendor_id=variant.vendor_id,
                    vendor_variant_id=variant.id,
                    vendor_sku=variant.vendor_sku,
                    retailer_skus=retailer_skus,
                    changes=changes,
                ),
            )
            for retailer_id, retailer_skus in skus.items()
        ],
        now=now,
    )
