"""The ledger, readable: a vendor reads its variant's entries, a retailer those of the variants that
source its item through an active connection; holds, staleness and buffer changes are entries too."""

from __future__ import annotations

import datetime as dt

from network.db import transaction
from network.feeds.health import mark_stale_sources
from network.partners import services as partners
from tests.builders import make_item, make_variant, push_json
from tests.order_helpers import place, stocked_item


def _entries(party, path):
    response = party.api.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_vendor_reads_its_variants_ledger_with_causes_and_references(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant, sku = stocked_item(session, vendor, [retailer], 10, sku="LAMP")
    order = place(retailer, [(sku, 3)]).get_json()
    retailer.api.post(f"/api/v1/orders/{order['id']}/cancel", json={})
    page = _entries(vendor, "/vendor-api/v1/ledger?sku=LAMP")
    causes = [(e["cause"], e["before"], e["after"]) for e in page["data"]]
    assert causes == [
        ("feed_run", {"quantity": 0}, {"quantity": 10}),
        ("order", {"committed": 0}, {"committed": 3}),
        ("cancellation", {"committed": 3}, {"committed": 0}),
    ]
    first, second = page["data"][0], page["data"][1]
    assert "feed_run_id" in first["reference"] and "purchase_order_line_id" in second["reference"]
    assert all(e["variant_id"] == variant for e in page["data"])

    one = _entries(vendor, "/vendor-api/v1/ledger?sku=LAMP&limit=2")
    rest = _entries(vendor, f"/vendor-api/v1/ledger?sku=LAMP&cursor={one['next_cursor']}")
    assert [e["id"] for e in one["data"] + rest["data"]] == [e["id"] for e in page["data"]]


def test_the_retailer_reads_the_ledger_of_its_items_sources(session, network):
    vendor, other_vendor = network.vendors
    retailer, other_retailer = network.retailers
    a = make_variant(session, vendor, "A")
    b = make_variant(session, other_vendor, "B")
    sku = make_item(session, retailer, [a, b])
    push_json(vendor, [{"sku": "A", "quantity": 4}])
    push_json(other_vendor, [{"sku": "B", "quantity": 7}])
    data = _entries(retailer, f"/api/v1/ledger?retailer_sku={sku}")["data"]
    assert sorted((e["variant_id"], e["after"]["quantity"]) for e in data) == sorted([(a, 4), (b, 7)])

    # A paused connection's variants drop out of the retailer's ledger.
    conn = next(
        c for c in partners.list_connections(session, org_id=retailer.id) if c.vendor_id == other_vendor.id
    )
    assert retailer.api.patch(f"/api/v1/connections/{conn.id}", json={"status": "paused"}).status_code == 200
    data = _entries(retailer, f"/api/v1/ledger?retailer_sku={sku}")["data"]
    assert {e["variant_id"] for e in data} == {a}
    # Another retailer's item is 404, and so is an unknown sku.
    assert other_retailer.api.get(f"/api/v1/ledger?retailer_sku={sku}").status_code == 404
    assert vendor.api.get("/vendor-api/v1/ledger?sku=NOPE").status_code == 404
    assert other_vendor.api.get("/vendor-api/v1/ledger?sku=A").status_code == 404


def test_holds_buffer_and_staleness_are_entries_each_retailer_sees_its_own(session, network):
    vendor = network.vendor
    retailer, other = network.retailers
    variant, sku = stocked_item(session, vendor, [retailer, other], 5, sku="CHAIR")
    conn = next(c for c in partners.list_connections(session, org_id=retailer.id) if c.vendor_id == vendor.id)
    retailer.api.patch(f"/api/v1/connections/{conn.id}", json={"safety_buffer": 2})

    order = place(other, [(sku, 1)]).get_json()
    po_id = order["purchase_orders"][0]["id"]
    vendor.api.post(
        f"/vendor-api/v1/purchase-orders/{po_id}/reject",
        json={"reason": "gone", "reason_code": "out_of_stock"},
    )
    with transaction(session):
        mark_stale_sources(session, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))

    mine = [e["cause"] for e in _entries(retailer, f"/api/v1/ledger?retailer_sku={sku}")["data"]]
    theirs = [e["cause"] for e in _entries(other, f"/api/v1/ledger?retailer_sku={sku}")["data"]]
    assert "buffer" in mine and "buffer" not in theirs
    assert "hold" in mine and "hold" in theirs  # a hold protects every retailer
    assert mine.count("staleness") == 1 and theirs.count("staleness") == 1
    vendors = _entries(vendor, "/vendor-api/v1/ledger?sku=CHAIR")["data"]
    buffer = next(e for e in vendors if e["cause"] == "buffer")
    assert (buffer["before"], buffer["after"], buffer["reference"]) == (
        {"safety_buffer": 0},
        {"safety_buffer": 2},
        {"connection_id": conn.id},
    )
    hold = next(e for e in vendors if e["cause"] == "hold")
    assert hold["after"] == {"on_hold": True} and "hold_id" in hold["reference"]
    assert variant == hold["variant_id"]


def test_bad_ledger_queries_are_422(network):
    assert network.vendor.api.get("/vendor-api/v1/ledger").status_code == 422
    assert network.vendor.api.get("/vendor-api/v1/ledger?sku=A&cursor=nope").status_code == 422
    response = network.retailer.api.get("/api/v1/ledger?limit=5000&retailer_sku=X")
    assert response.status_code == 422 and "limit" in response.get_json()["errors"]
    assert network.retailer.api.get("/vendor-api/v1/ledger?sku=A").status_code in (401, 403)
