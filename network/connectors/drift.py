"""Drift: what the store shows for each mapped SKU against what the hub last set there, and its repair."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.services import read_availability
from network.connectors.http import StoreError
from network.connectors.models import SHOPIFY, Connector, ConnectorListing
from network.connectors.services import channel_minutes, figure
from network.db import transaction


@dataclass(frozen=True, slots=True)
class Drift:
    retailer_sku: str
    platform: int | None  # what the store shows (None: the store no longer has the listing)
    published: int | None  # what the hub last set there
    expected: int  # what the hub would set now (availability after buffer and cap)


def drift(session: Session, connector: Connector, client, *, now: dt.datetime) -> list[Drift]:
    """The mapped listings whose store figure differs from the hub's last one. Raises StoreError."""
    listings = session.scalars(
        sa.select(ConnectorListing)
        .where(ConnectorListing.connector_id == connector.id, ConnectorListing.inventory_item_id.is_not(None))
        .order_by(ConnectorListing.retailer_sku)
    ).all()
    if not listings:
        return []
    current = {
        a.retailer_sku: (a.available, a.channel_units)
        for a in read_availability(
            session,
            retailer_id=connector.retailer_id,
            skus=[listing.retailer_sku for listing in listings],
            after_id=0,
            limit=len(listings),
            now=now,
            channel_minutes=channel_minutes(connector),
        )
    }
    if connector.platform == SHOPIFY:
        if not connector.location_id:
            raise StoreError("the connector has no location_id")
        shown = client.levels(connector.location_id, [listing.inventory_item_id for listing in listings])
        on_store = {listing.retailer_sku: shown.get(listing.inventory_item_id) for listing in listings}
    else:
        on_store = {
            listing.retailer_sku: client.stock_of(listing.inventory_item_id, listing.platform_product_id)
            for listing in listings
        }
    return [
        Drift(
            listing.retailer_sku,
            on_store[listing.retailer_sku],
            listing.last_sent,
            figure(*current.get(listing.retailer_sku, (0, 0)), connector.buffer, connector.max_quantity),
        )
        for listing in listings
        if on_store[listing.retailer_sku] != listing.last_sent
    ]


def repair(session: Session, connector_id: int, found: list[Drift]) -> int:
    """Owe the drifted listings their figure again: the next sync round sets it (once, fresh)."""
    skus = [d.retailer_sku for d in found if d.platform is not None]
    if not skus:
        return 0
    with transaction(session):
        session.execute(
            sa.update(ConnectorListing)
            .where(ConnectorListing.connector_id == connector_id, ConnectorListing.retailer_sku.in_(skus))
            .values(pending=True, last_sent=None)
        )
    return len(skus)
