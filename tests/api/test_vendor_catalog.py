"""The vendor's catalog in the API: content stored and returned, listed with search and cursor,
visible to connected retailers, and `catalog.changed` sent to retailers that map the variant."""

from __future__ import annotations

from tests.builders import gtin13, make_item, make_org, unique

FULL = {
    "title": "Desk lamp",
    "gtin": gtin13(4711),
    "cost": "12.50",
    "msrp": "39.90",
    "map_price": "34.90",
    "weight": "1.2",
    "description": "A lamp with a long arm.\nWarm light.",
    "image_urls": ["https://img.example.com/lamp-1.jpg", "https://img.example.com/lamp-2.jpg"],
    "attributes": {"color": "black", "material": "steel"},
}


def _put(vendor, sku, body):
    return vendor.api.put(f"/vendor-api/v1/variants/{sku}", json=body)


def _events(party, type_):
    data = party.api.get(f"/api/v1/events?limit=1000&type={type_}").get_json()["data"]
    return [e["data"] for e in data]


def test_put_stores_content_and_get_returns_it(network):
    vendor = network.vendor
    assert _put(vendor, "LAMP-1", FULL).status_code == 201
    got = vendor.api.get("/vendor-api/v1/variants/LAMP-1")
    assert got.status_code == 200
    body = got.get_json()
    assert body["vendor_sku"] == "LAMP-1"
    assert body["map_price"] == "34.9000" and body["weight"] == "1.2000" and body["cost"] == "12.5000"
    assert body["description"] == FULL["description"]
    assert body["image_urls"] == FULL["image_urls"]
    assert body["attributes"] == FULL["attributes"]
    # PUT replaces: what the body leaves out is cleared.
    assert _put(vendor, "LAMP-1", {"title": "Desk lamp"}).status_code == 200
    body = vendor.api.get("/vendor-api/v1/variants/LAMP-1").get_json()
    assert body["map_price"] is None and body["image_urls"] == [] and body["description"] == ""


def test_list_pages_by_cursor_and_searches(network):
    vendor = network.vendor
    for n in range(5):
        _put(vendor, f"CHAIR-{n}", {"title": f"Office chair {n}"})
    _put(vendor, "TABLE-1", {"title": "Oak table", "gtin": FULL["gtin"]})
    first = vendor.api.get("/vendor-api/v1/variants?limit=4").get_json()
    second = vendor.api.get(f"/vendor-api/v1/variants?limit=4&cursor={first['next_cursor']}").get_json()
    skus = [v["vendor_sku"] for v in first["data"] + second["data"]]
    assert skus == [*(f"CHAIR-{n}" for n in range(5)), "TABLE-1"]
    assert second["next_cursor"] is None
    found = vendor.api.get("/vendor-api/v1/variants?q=oak").get_json()["data"]
    assert [v["vendor_sku"] for v in found] == ["TABLE-1"]
    by_gtin = vendor.api.get(f"/vendor-api/v1/variants?q={FULL['gtin']}").get_json()["data"]
    assert [v["vendor_sku"] for v in by_gtin] == ["TABLE-1"]
    # A LIKE wildcard is searched for literally.
    assert vendor.api.get("/vendor-api/v1/variants?q=%25").get_json()["data"] == []


def test_another_vendors_variant_is_404_and_not_listed(network):
    first, second = network.vendors
    _put(first, "MINE", {"title": "Mine"})
    response = second.api.get("/vendor-api/v1/variants/MINE")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert second.api.get("/vendor-api/v1/variants").get_json()["data"] == []


def test_retailer_tokens_cannot_read_the_vendor_catalog(network):
    _put(network.vendor, "MINE", {"title": "Mine"})
    assert network.retailer.api.get("/vendor-api/v1/variants").status_code in (401, 403)


def test_bad_input_is_422_per_field_and_changes_nothing(network):
    vendor = network.vendor
    _put(vendor, "LAMP-1", FULL)
    bad = {
        **FULL,
        "map_price": "-1",
        "image_urls": ["javascript:alert(1)"],
        "gtin": "1234567890123",
        "weight": "abc",
    }
    response = _put(vendor, "LAMP-1", bad)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert {"map_price", "image_urls", "weight"} <= set(response.get_json()["errors"])
    body = vendor.api.get("/vendor-api/v1/variants/LAMP-1").get_json()
    assert body["map_price"] == "34.9000" and body["image_urls"] == FULL["image_urls"]
    gtin_only = _put(vendor, "LAMP-1", {**FULL, "gtin": "1234567890123"})
    assert gtin_only.status_code == 422 and "gtin" in gtin_only.get_json()["errors"]
    assert vendor.api.get("/vendor-api/v1/variants?limit=0").status_code == 422
    assert vendor.api.get("/vendor-api/v1/variants?cursor=nope").status_code == 422


def test_retailers_see_content_and_get_catalog_changed_for_mapped_variants(session, client, network):
    vendor = network.vendor
    mapping, other = network.retailers
    variant_id = _put(vendor, "LAMP-1", FULL).get_json()["id"]
    listed = mapping.api.get(f"/api/v1/catalog/vendor-variants?vendor_id={vendor.id}").get_json()["data"]
    (row,) = [v for v in listed if v["id"] == variant_id]
    assert row["map_price"] == "34.9000" and row["image_urls"] == FULL["image_urls"]
    assert row["description"] == FULL["description"] and row["attributes"] == FULL["attributes"]
    sku = make_item(session, mapping, [variant_id], unique("LAMP"))

    _put(vendor, "LAMP-1", {**FULL, "cost": "13.00", "map_price": "36.00"})
    (event,) = _events(mapping, "catalog.changed")
    assert event["vendor_variant_id"] == variant_id and event["retailer_skus"] == [sku]
    assert event["changes"] == {"cost": ["12.50", "13.00"], "map_price": ["34.90", "36.00"]}
    assert _events(other, "catalog.changed") == []  # sees the variant but does not sell it

    # Saving the same content again tells nobody anything.
    _put(vendor, "LAMP-1", {**FULL, "cost": "13.00", "map_price": "36.00"})
    assert len(_events(mapping, "catalog.changed")) == 1
    _put(vendor, "LAMP-1", {**FULL, "cost": "13.00", "map_price": "36.00", "description": "New text"})
    assert _events(mapping, "catalog.changed")[-1]["changes"] == {
        "description": [FULL["description"], "New text"]
    }


def test_unconnected_retailer_does_not_see_the_content(session, client, network):
    _put(network.vendor, "LAMP-1", FULL)
    stranger = make_org(session, client, "retailer")
    assert stranger.api.get("/api/v1/catalog/vendor-variants").get_json()["data"] == []


def test_active_false_by_api_discontinues_like_the_portal(session, network):
    from tests.order_helpers import place, stocked_item

    vendor, retailer = network.vendor, network.retailer
    variant, sku = stocked_item(session, vendor, [retailer], 5, sku="OLD-1", title="Old")
    assert place(retailer, [(sku, 1)]).status_code == 201
    assert _put(vendor, "OLD-1", {"title": "Old", "active": False}).status_code == 200
    listed = retailer.api.get(f"/api/v1/availability?sku={sku}").get_json()["data"][0]
    assert listed["available"] == 0
    flags = retailer.api.get("/api/v1/flags?status=open").get_json()["data"]
    assert [f["kind"] for f in flags] == ["discontinued"]
    ledger = vendor.api.get("/vendor-api/v1/ledger?sku=OLD-1").get_json()["data"]
    assert (ledger[-1]["cause"], ledger[-1]["before"], ledger[-1]["after"]) == (
        "catalog",
        {"active": True},
        {"active": False},
    )
    # Saving it inactive again flags nothing twice.
    _put(vendor, "OLD-1", {"title": "Old", "active": False})
    assert len(retailer.api.get("/api/v1/flags?status=open").get_json()["data"]) == 1


def test_each_new_endpoint_needs_its_scope(session, client, network):
    readonly = make_org(session, client, "vendor", scopes=["purchase_orders:read"])
    for method, path in (
        ("get", "/vendor-api/v1/variants"),
        ("get", "/vendor-api/v1/variants/X"),
        ("put", "/vendor-api/v1/variants/X"),
        ("get", "/vendor-api/v1/ledger?sku=X"),
        ("get", "/vendor-api/v1/guards"),
        ("patch", "/vendor-api/v1/guards"),
        ("get", "/vendor-api/v1/webhook-endpoints"),
    ):
        response = getattr(readonly.api, method)(path, json={"title": "t"} if method != "get" else None)
        assert response.status_code == 403, (method, path, response.status_code)
    assert readonly.api.get("/vendor-api/v1/events").status_code == 200
    no_availability = make_org(session, client, "retailer", scopes=["catalog:read"])
    assert no_availability.api.get("/api/v1/ledger?retailer_sku=X").status_code == 403
    assert no_availability.api.get("/api/v1/catalog/vendor-variants").status_code == 200
