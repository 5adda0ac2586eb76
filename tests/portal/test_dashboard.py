"""The dashboard: the vendor's connections and their terms, stock health counts, last feed runs."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from network.clock import utcnow
from network.db import transaction
from network.partners.models import Connection
from tests.builders import iso, make_variant, push_csv, push_json
from tests.portal.conftest import make_vendor_user, sign_in


@pytest.fixture
def vendor(session, client, network):
    party = network.vendor
    sign_in(client, make_vendor_user(session, org_id=party.id))
    return party


def tile(page: str, label: str) -> int:
    match = re.search(rf"<strong>(\d+)</strong> {label}", page)
    assert match, label
    return int(match.group(1))


def test_stock_health_counts_what_needs_a_look(session, client, network, vendor):
    with transaction(session):
        for conn in session.query(Connection).filter_by(vendor_id=vendor.id):
            conn.stale_after_minutes = 60
    for sku in ("ZERO", "LOW", "PLENTY", "RETURNS", "DENTED", "OLD", "RETIRED"):
        make_variant(session, vendor, sku, active=sku != "RETIRED")
    push_json(
        vendor,
        [
            {"sku": "ZERO", "quantity": 0},
            {"sku": "LOW", "quantity": 3},
            {"sku": "PLENTY", "quantity": 50},
            {"sku": "RETURNS", "quantity": 9, "pending_inspection": 3},
            {"sku": "DENTED", "quantity": 9, "damaged": 2},
            {"sku": "RETIRED", "quantity": 0},
        ],
        mode="delta",
    )
    push_csv(vendor, "sku,quantity\nOLD,20\n", mode="delta", as_of=iso(utcnow() - dt.timedelta(hours=2)))

    page = client.get("/portal/dashboard").get_data(as_text=True)
    assert "7 variants" in page
    assert tile(page, "at zero") == 1  # the retired variant at zero is not a concern
    assert tile(page, "low") == 1
    assert tile(page, "stale") == 1
    assert tile(page, "pending inspection") == 1 and "(3 units)" in page
    assert tile(page, "with damaged units") == 1 and "(2 units)" in page


def test_a_recent_full_feed_makes_every_count_fresh(session, client, vendor):
    make_variant(session, vendor, "A")
    make_variant(session, vendor, "B")
    push_csv(vendor, "sku,quantity\nA,5\n", mode="delta", as_of=iso(utcnow() - dt.timedelta(days=3)))
    assert tile(client.get("/portal/dashboard").get_data(as_text=True), "stale") == 2
    push_csv(vendor, "sku,quantity\nA,5\nB,1\n", mode="full")
    assert tile(client.get("/portal/dashboard").get_data(as_text=True), "stale") == 0


def test_the_dashboard_shows_each_retailer_with_its_terms(session, client, network, vendor):
    with transaction(session):
        conn = session.query(Connection).filter_by(vendor_id=vendor.id, retailer_id=network.retailer.id).one()
        conn.ack_sla_hours, conn.safety_buffer, conn.status = 6, 2, "paused"
    page = client.get("/portal/dashboard").get_data(as_text=True)
    row = re.search(rf"<td>{network.retailer.name}</td>(.*?)</tr>", page, re.S).group(1)
    assert "paused" in row and "6 h" in row and "2 units" in row
    assert network.retailers[1].name in page
    assert "No purchase orders here." in page


def test_an_overdue_acknowledgement_shows_as_an_open_flag_with_its_purchase_order(
    session, client, network, vendor
):
    from network.flags.evaluation import evaluate
    from tests.order_helpers import place, stocked_item

    _, sku = stocked_item(session, vendor, [network.retailer], 5, sku="FLAGGED-1")
    po_id = place(network.retailer, [(sku, 1)]).get_json()["purchase_orders"][0]["id"]
    assert "No open flags" in client.get("/portal/dashboard").get_data(as_text=True)
    with transaction(session):
        evaluate(session, now=utcnow() + dt.timedelta(hours=25))  # the 24 h acknowledgement window passed
    page = client.get("/portal/dashboard").get_data(as_text=True)
    section = page.split('id="flags"')[1].split("</section>")[0]
    assert "ack overdue" in section and "not acknowledged in time" in section
    assert f"PO-{po_id}" in section and "FLAGGED-1" in section
