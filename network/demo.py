"""A demo network: two retailers, three vendors, all connected, with variants, stock and items,
and the first hours of trading a new user finds in the console and the portal: orders shipped
with tracking, one shipped in part, one whose vendor is late to acknowledge (a flag), one just
placed; items mapped, one the GTIN auto-match can map, one no vendor offers; a vendor invite
nobody answered yet, a terms change and a colleague who may only read (the audit log and the
Team page). Everything goes through the same services as the APIs and pages, so the demo cannot
show what the hub would not produce.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from sqlalchemy.orm import Session

from network.availability.services import publish_changes
from network.availability.terms import change_terms
from network.catalog import mapping_import
from network.catalog import services as catalog
from network.catalog.gtin import gtin_check_digit
from network.catalog.services import SourceSpec
from network.feeds.parsing import FeedFormat
from network.feeds.services import FeedReceipt, receive_feed
from network.flags.evaluation import evaluate
from network.orders import services as orders
from network.orders.changes import LineQuantity
from network.orders.placement import LineInput, place_order
from network.partners import invites
from network.partners import services as partners
from network.partners.audit import Actor
from network.partners.models import VIEWER

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
        ("BRO-LANTERN", "LED camp lantern", "29.00", 30, 0, 0),  # no retailer sells it yet
        ("BRO-MUG", "Enamel camp mug", "9.50", 200, 0, 0),
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
# Items a retailer lists by GTIN before choosing their sources (its mapping import): the lantern's
# GTIN is Blue Ridge's, so the GTIN auto-match suggests it; nobody offers the hammock's.
UNMAPPED = (("LANTERN-LED", "LED camp lantern", "BRO-LANTERN"), ("HAMMOCK", "Travel hammock", None))
# The day's orders, oldest first: (reference number, hours ago, lines, how far the vendor got).
# Acme must acknowledge within 2 hours (a terms change), so its paper order is flagged.
ORDERS = (
    (1001, 5.0, [("LAMP-LED", 2)], "shipped"),
    (1002, 4.0, [("TENT-2P", 1), ("SLEEPING-BAG", 2)], "shipped in part"),
    (1003, 3.0, [("PAPER-A4-BOX", 5)], "not acknowledged"),
    (1004, 0.3, [("CHAIR-ERGO", 1)], "just placed"),
)
CARRIERS = {"NW-LAMP-LED": "UPS", "BRO-TENT-2P": "FedEx"}
SHIP_TO = {
    "name": "Ada Buyer",
    "address1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def _gtin(seed: int) -> str:
    body = f"0{seed:011d}"
    return body + str(gtin_check_digit(body))


def seed_demo(session: Session, *, now: dt.datetime) -> dict:
    """Seed one more demo network and return its credentials (the shape `hub demo --json` prints)."""
    tag = secrets.token_hex(3)
    start = now - dt.timedelta(hours=6)  # the stock's time; the day's orders come after it
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
                now=start,
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
                as_of=start,
            ),
            now=start,
        )
    gtins = {sku: variant.gtin for sku, variant in _variants(session, variant_ids).items()}
    for number, retailer_name in enumerate(RETAILERS):
        org = partners.create_organization(session, kind="retailer", name=retailer_name, now=start)
        connections = [
            partners.connect(
                session, retailer_id=org.id, vendor_id=vendor.id, routing_priority=priority, now=start
            )
            for priority, vendor in enumerate(vendor_orgs)
        ]
        client, secret = partners.create_api_client(session, org_id=org.id, name="demo", now=start)
        item_ids = []
        for retailer_sku, vendor_skus in ITEMS.items():
            item, _ = catalog.put_item(
                session,
                retailer_id=org.id,
                retailer_sku=retailer_sku,
                title=retailer_sku.replace("-", " ").title(),
                sources=[SourceSpec(variant_ids[sku], priority) for priority, sku in enumerate(vendor_skus)],
                now=start,
            )
            item_ids.append(item.id)
        publish_changes(session, item_ids, now=start)
        # A console user per retailer, as each vendor has a portal user; and a colleague who reads.
        first = retailer_name.split()[0].lower()
        email = f"{first}-{tag}@retailers.example"
        password = secrets.token_urlsafe(12)
        user = partners.create_user(
            session, org_id=org.id, email=email, password=password, name="Demo user", now=start
        )
        partners.create_user(
            session,
            org_id=org.id,
            email=f"{first}-viewer-{tag}@retailers.example",
            password=secrets.token_urlsafe(12),
            name="Demo colleague",
            role=VIEWER,
            now=start,
        )
        _first_hours(
            session,
            org.id,
            Actor(user_id=user.id),
            connections,
            gtins,
            prefix="".join(word[0] for word in retailer_name.split()).upper(),
            tag=tag,
            start=start,
            now=now,
            order_offset=number,
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
    # Acme's paper order, placed 3 h ago, was due for acknowledgement 1 h ago: the flag evaluator
    # raised ack_overdue then, as the worker's would have.
    evaluate(session, now=now - dt.timedelta(minutes=55))
    return result


def _variants(session: Session, variant_ids: dict[str, int]) -> dict:
    from network.catalog.models import VendorVariant

    return {sku: session.get(VendorVariant, variant_id) for sku, variant_id in variant_ids.items()}


def _first_hours(
    session: Session,
    retailer_id: int,
    actor: Actor,
    connections: list,
    gtins: dict[str, str | None],
    *,
    prefix: str,
    tag: str,
    start: dt.datetime,
    now: dt.datetime,
    order_offset: int,
) -> None:
    """A retailer's first hours: its item list by GTIN, terms, an invite, and the day's orders."""
    rows = ["retailer_sku,title,gtin"]
    for retailer_sku, title, vendor_sku in UNMAPPED:
        rows.append(
            f"{retailer_sku},{title},{gtins[vendor_sku] if vendor_sku else _gtin(990_000 + retailer_id)}"
        )
    mapping_import.apply_mappings(
        session,
        retailer_id=retailer_id,
        data="\n".join(rows).encode(),
        filename="items.csv",
        actor=actor,
        now=start + dt.timedelta(minutes=10),
    )
    acme = next(conn for conn in connections if conn.vendor.name == "Acme Office Supply")
    change_terms(
        session,
        acme.id,
        retailer_id=retailer_id,
        terms={"ack_sla_hours": 2},
        actor=actor,
        now=start + dt.timedelta(minutes=20),
    )
    invites.invite_vendor(
        session,
        retailer_id=retailer_id,
        email=f"orders-{tag}@summit-gear.example",
        vendor_name="Summit Gear",
        actor=actor,
        now=now - dt.timedelta(hours=1),
    )
    for number, hours_ago, lines, progress in ORDERS:
        placed_at = now - dt.timedelta(hours=hours_ago)
        order = place_order(
            session,
            retailer_id=retailer_id,
            reference=f"{prefix}-{number}",
            lines=[LineInput(sku, quantity) for sku, quantity in lines],
            ship_to=SHIP_TO,
            now=placed_at,
        )
        if progress in ("shipped", "shipped in part"):
            for po in order.purchase_orders:
                orders.acknowledge(
                    session,
                    vendor_id=po.vendor_id,
                    po_id=po.id,
                    lines=None,
                    now=placed_at + dt.timedelta(minutes=30),
                )
                first = po.lines[0]
                sku = first.variant.vendor_sku
                orders.ship(
                    session,
                    vendor_id=po.vendor_id,
                    po_id=po.id,
                    carrier=CARRIERS.get(sku, "UPS"),
                    tracking_number=_tracking(CARRIERS.get(sku, "UPS"), number * 10 + order_offset),
                    lines=[
                        LineQuantity(line.id, line.unshipped)
                        for line in (po.lines if progress == "shipped" else [first])
                    ],
                    now=placed_at + dt.timedelta(hours=2),
                )


def _tracking(carrier: str, seed: int) -> str:
    """A tracking number shaped like the carrier's own (UPS 1Z…, FedEx 12 digits)."""
    return f"1Z999AA1{seed:010d}" if carrier == "UPS" else f"{612_999_000_000 + seed}"
