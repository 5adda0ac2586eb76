"""Tenant isolation: an organization sees only its own rows and those shared by an active connection."""

from __future__ import annotations

from network.partners import services as partners
from tests.builders import make_item, make_org, make_variant, push_csv


def test_another_retailers_item_answers_404(session, network):
    first, second = network.retailers
    variant = make_variant(session, network.vendor)
    sku = make_item(session, first, [variant])
    assert first.api.get(f"/api/v1/items/{sku}").status_code == 200
    response = second.api.get(f"/api/v1/items/{sku}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_item_lists_and_availability_hold_only_own_items(session, network):
    first, second = network.retailers
    variant = make_variant(session, network.vendor)
    sku = make_item(session, first, [variant])
    assert [i["retailer_sku"] for i in second.api.get("/api/v1/items").get_json()["data"]] == []
    assert second.api.get(f"/api/v1/availability?sku={sku}").get_json()["data"] == []


def test_unconnected_vendors_variants_are_invisible_and_unusable(session, client, network):
    stranger = make_org(session, client, "vendor")
    hidden = make_variant(session, stranger, "SECRET")
    retailer = network.retailer
    listed = retailer.api.get("/api/v1/catalog/vendor-variants?limit=1000").get_json()["data"]
    assert hidden not in [v["id"] for v in listed]
    response = retailer.api.put("/api/v1/items/X", json={"sources": [{"vendor_variant_id": hidden}]})
    assert response.status_code == 422
    assert retailer.api.get("/api/v1/items/X").status_code == 404


def test_another_retailers_connection_answers_404(session, network):
    first, second = network.retailers
    conn = partners.list_connections(session, org_id=first.id)[0]
    response = second.api.patch(f"/api/v1/connections/{conn.id}", json={"safety_buffer": 5})
    assert response.status_code == 404
    ids = [c["id"] for c in second.api.get("/api/v1/connections").get_json()["data"]]
    assert conn.id not in ids


def test_another_vendors_feed_run_answers_404(session, network):
    first, second = network.vendors
    make_variant(session, first, "MINE")
    run = push_csv(first, "sku,quantity\nMINE,1\n").get_json()
    assert second.api.get(f"/vendor-api/v1/feed-runs/{run['id']}").status_code == 404
    assert second.api.get("/vendor-api/v1/feed-runs").get_json()["data"] == []


def test_vendor_cannot_push_stock_for_another_vendors_sku(session, network):
    first, second = network.vendors
    make_variant(session, first, "ONLY-FIRST")
    run = push_csv(second, "sku,quantity\nONLY-FIRST,99\n").get_json()
    assert run["rows_applied"] == 0
    assert "unknown sku" in run["errors"][0]["reason"]


def test_ended_connection_hides_the_vendors_catalog(session, network):
    retailer, vendor = network.retailer, network.vendor
    variant = make_variant(session, vendor)
    conn = next(c for c in partners.list_connections(session, org_id=retailer.id) if c.vendor_id == vendor.id)
    retailer.api.patch(f"/api/v1/connections/{conn.id}", json={"status": "ended"})
    listed = retailer.api.get("/api/v1/catalog/vendor-variants?limit=1000").get_json()["data"]
    assert variant not in [v["id"] for v in listed]
