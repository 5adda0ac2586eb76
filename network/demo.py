"""A demo network: two retailers, three vendors, all connected, with variants, stock and items."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from sqlalchemy.orm import Session

from network.availability.services import publish_changes
from network.catalog import services as catalog
from network.catalog.gtin import gtin_check_digit
from network.catalog.services import SourceSpec
from network.feeds.parsing import FeedFormat
from network.feeds.services import FeedReceipt, receive_feed
from network.partners import services as partners

VENDORS = {
    "Northwind Furniture": [
        ("NW-CHAIR-ERGO", "Ergonomic office chair", "149.00", 0, 3, 0),  # out, three dented returns
        ("NW-DESK-160", "Standing desk 160 cm", "289.00", 14, 0, 1),
        ("NW-LAMP-LED", "LED desk lamp", "24.50", 120, 0, 4),
    ],
    "Acme Office Supply": [
        ("ACME-LAMP-01", "LED desk lamp", "22.90", 40, 0, 0),
        ("ACME-PAPER-A4", "A4 paper, 5 x 500 sheets", "18.00", 600, 0, 12),
        ("ACME-CHAIR-7", "Ergonomic office chair", "139.00", 6, 0, 0),
    ],
    "Blue Ridge Outdoors": [
        ("BRO-TENT-2P", "Two-person tent", "119.00", 25, 1, 2),
        ("BRO-BAG-20F", "Sleeping bag 20F", "79.00", 48, 0, 0),
        ("BRO-STOVE", "Camp stove", "54.00", 0, 0, 0),
    ],
}
# Retailer items: sku -> vendor skus that can fulfil it (same product from two vendors reroutes).
ITEMS = {
    "CHAIR-ERGO": ["NW-CHAIR-ERGO", "ACME-CHAIR-7"],
    "DESK-STAND-160": ["NW-DESK-160"],
    "LAMP-LED": ["NW-LAMP-LED", "ACME-LAMP-01"],
    "PAPER-A4-BOX": ["ACME-PAPER-A4"],
    "TENT-2P": ["BRO-TENT-2P"],
    "SLEEPING-BAG": ["BRO-BAG-20F"],
    "CAMP-STOVE": ["BRO-STOVE"],
}
RETAILERS = ("Harbor Home Store", "Trailhead Outfitters")


def _gtin(seed: int) -> str:
    body = f"0{seed:011d}"
    return body + str(gtin_check_digit(body))


def seed_demo(session: Session, *, now: dt.datetime) -> dict:
    """Seed one more demo network and return its credentials (the shape `hub demo --json` prints)."""
    tag = secrets.token_hex(3)
    result: dict[str, list[dict]] = {"retailers": [], "vendors": []}
    variant_ids: dict[str, int] = {}
    vendor_orgs = []
    for vendor_name, products in VENDORS.items():
        org = partners.create_organization(session, kind="vendor", name=vendor_name, now=now)
        vendor_orgs.append(org)
        client, secret = partners.create_api_client(session, org_id=org.id, name="demo", now=now)
        email = f"{vendor_name.split()[0].lower()}-{tag}@vendors.example"
        password = secrets.token_urlsafe(12)
        partners.create_user(
            session, org_id=org.id, email=email, password=password, name="Demo user", now=now
        )
        rows = ["sku,quantity,pending_inspection,damaged"]
        for index, (sku, title, cost, quantity, pending, damaged) in enumerate(products):
            variant, _ = catalog.upsert_variant(
                session,
                vendor_id=org.id,
                vendor_sku=sku,
                title=title,
                gtin=_gtin(org.id * 1000 + index),
                cost=Decimal(cost),
                now=now,
            )
            variant_ids[sku] = variant.id
            rows.append(f"{sku},{quantity},{pending},{damaged}")
        result["vendors"].append(
            {
                "id": org.id,
                "name": vendor_name,
                "client_id": client.client_id,
                "client_secret": secret,
                "portal_email": email,
                "portal_password": password,
            }
        )
        receive_feed(
            session,
            FeedReceipt(
                vendor_id=org.id,
                transport="upload",
                mode="full",
                basis="available",
                data="\n".join(rows).encode(),
                fmt=FeedFormat(kind="csv"),
                as_of=now,
            ),
            now=now,
        )
    for retailer_name in RETAILERS:
        org = partners.create_organization(session, kind="retailer", name=retailer_name, now=now)
        for priority, vendor in enumerate(vendor_orgs):
            partners.connect(
                session, retailer_id=org.id, vendor_id=vendor.id, routing_priority=priority, now=now
            )
        client, secret = partners.create_api_client(session, org_id=org.id, name="demo", now=now)
        item_ids = []
        for retailer_sku, vendor_skus in ITEMS.items():
            item, _ = catalog.put_item(
                session,
                retailer_id=org.id,
                retailer_sku=retailer_sku,
                title=retailer_sku.replace("-", " ").title(),
                sources=[SourceSpec(variant_ids[sku], priority) for priority, sku in enumerate(vendor_skus)],
                now=now,
            )
            item_ids.append(item.id)
        publish_changes(session, item_ids, now=now)
        # A console user per retailer, as each vendor has a portal user.
        email = f"{retailer_name.split()[0].lower()}-{tag}@retailers.example"
        password = secrets.token_urlsafe(12)
        partners.create_user(
            session, org_id=org.id, email=email, password=password, name="Demo user", now=now
        )
        result["retailers"].append(
            {
                "id": org.id,
                "name": retailer_name,
                "client_id": client.client_id,
                "client_secret": secret,
                "console_email": email,
                "console_password": password,
            }
        )
    return result
