"""The console's home puts the action next to each exception: a flag opens its order, a quiet vendor
its terms, a dead delivery has its replay; a connected vendor's held file is shown until the vendor
decides (only to retailers connected to that vendor)."""

from __future__ import annotations

import datetime as dt
import re

from network.clock import utcnow
from network.db import transaction
from network.feeds.models import StaleSource
from tests.api.test_feeds import create_feed, upload
from tests.builders import make_org, make_variant
from tests.console.test_developers import seeded
from tests.console.test_onboarding import raise_flag
from tests.console.test_vendors import connection_of, sign_in_as
from tests.flag_helpers import order_of
from tests.order_helpers import stocked_item
from tests.portal.conftest import csrf_of


def held_run(session, vendor) -> dict:
    for i in range(10):
        make_variant(session, vendor, f"HOME{i}")
    feed = create_feed(vendor, mode="full")
    assert upload(
        vendor, feed["id"], "sku,quantity\n" + "".join(f"HOME{i},4\n" for i in range(10))
    ).status_code
    held = upload(vendor, feed["id"], "sku,quantity\nHOME0,4\nHOME1,4\n").get_json()
    assert held["status"] == "held"
    return held


def test_a_connected_vendors_held_file_shows_until_the_vendor_decides(client, session, network):
    vendor = network.vendor
    held = held_run(session, vendor)
    stranger = make_org(session, client, "vendor")  # not connected to the retailer
    other_held = held_run(session, stranger)
    sign_in_as(client, session, network.retailer.id, "viewer")

    page = client.get("/console").get_data(as_text=True)
    section = page.split('id="held-runs"')[1].split("</section>")[0]
    assert f"#{held['id']}" in section and vendor.name in section and "8 of the 10 SKUs" in section
    assert f"#{other_held['id']}" not in section and stranger.name not in section

    assert vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/discard").status_code == 200
    page = client.get("/console").get_data(as_text=True)
    assert "No vendor file is waiting for review." in page


def test_each_exception_links_to_its_action(app, client, session, network):
    retailer, vendor = network.retailer, network.vendor
    _, sku = stocked_item(session, vendor, [retailer], 10)
    placed = order_of(retailer, sku, 1)
    raise_flag(session, placed, retailer.id, vendor.id, "ack_overdue", hours_ago=2)
    ids = seeded(session, app, retailer.id)
    sign_in_as(client, session, retailer.id, "owner")

    page = client.get("/console").get_data(as_text=True)
    assert f'href="/console/orders/{placed["order"]}">Open the order' in page
    replay = f'action="/console/developers/deliveries/{ids["delivery"]}/replay"'
    assert replay in page
    replayed = client.post(
        f"/console/developers/deliveries/{ids['delivery']}/replay", data={"csrf_token": csrf_of(page)}
    )
    assert replayed.status_code == 302
    assert replay not in client.get("/console").get_data(as_text=True)  # no longer dead


def test_a_viewer_sees_the_dead_delivery_without_the_replay_button(app, client, session, network):
    ids = seeded(session, app, network.retailer.id)
    sign_in_as(client, session, network.retailer.id, "viewer")
    page = client.get("/console").get_data(as_text=True)
    assert f"#{ids['delivery']}" in page
    assert "/replay" not in page


def test_a_stale_vendor_links_to_its_terms(client, session, network):
    retailer, vendor = network.retailer, network.vendor
    conn = connection_of(session, retailer.id, vendor.id)
    with transaction(session):
        session.add(
            StaleSource(
                connection_id=conn.id,
                vendor_id=vendor.id,
                retailer_id=retailer.id,
                last_count_at=utcnow() - dt.timedelta(days=2),
                since=utcnow() - dt.timedelta(hours=1),
            )
        )
    sign_in_as(client, session, retailer.id, "viewer")
    page = client.get("/console").get_data(as_text=True)
    assert "Stale: its stock counts as 0" in page
    assert re.search(rf'href="/console/vendors/{conn.id}">Terms and scorecard', page)
