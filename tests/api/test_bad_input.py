"""Bad input answers a clear 4xx problem and changes nothing."""

from __future__ import annotations

from network.catalog.models import VendorVariant
from tests.builders import gtin13, make_variant, push_json


def test_variant_with_bad_gtin_is_refused(session, network):
    response = network.vendor.api.put(
        "/vendor-api/v1/variants/G1", json={"title": "x", "gtin": "4006381333932"}
    )
    assert response.status_code == 422
    assert "gtin" in response.get_json()["errors"]
    assert session.query(VendorVariant).filter_by(vendor_sku="G1").count() == 0


def test_variant_put_creates_then_updates(session, network):
    api = network.vendor.api
    created = api.put(
        "/vendor-api/v1/variants/G2", json={"title": "Lamp", "gtin": gtin13(42), "cost": "9.50"}
    )
    assert created.status_code == 201
    assert created.get_json()["cost"] == "9.5000"
    updated = api.put("/vendor-api/v1/variants/G2", json={"title": "Lamp v2"})
    assert updated.status_code == 200
    assert updated.get_json()["title"] == "Lamp v2"


def test_unknown_fields_and_wrong_types_are_422_with_field_errors(network):
    api = network.vendor.api
    response = api.put("/vendor-api/v1/variants/G3", json={"title": 5, "colour": "red"})
    assert response.status_code == 422
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert set(body["errors"]) == {"title", "colour"}


def test_push_with_bad_mode_is_422(session, network):
    make_variant(session, network.vendor, "M1")
    response = push_json(network.vendor, [{"sku": "M1", "quantity": 1}], mode="sometimes")
    assert response.status_code == 422
    assert "mode" in response.get_json()["errors"]


def test_non_integer_and_negative_quantities_reject_their_rows(session, network):
    make_variant(session, network.vendor, "Q1")
    make_variant(session, network.vendor, "Q2")
    make_variant(session, network.vendor, "Q3")
    rows = [{"sku": "Q1", "quantity": 1.5}, {"sku": "Q2", "quantity": -2}, {"sku": "Q3", "quantity": "3"}]
    run = push_json(network.vendor, rows).get_json()
    assert run["rows_seen"] == 3
    assert [e["sku"] for e in run["errors"]] == ["Q1", "Q2"]


def test_body_that_is_not_json_is_422(network):
    response = network.vendor.api.post(
        "/vendor-api/v1/inventory", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_unsupported_content_type_is_4xx(network):
    response = network.vendor.api.post(
        "/vendor-api/v1/inventory", data=b"<xml/>", headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 422


def test_oversized_body_is_413_problem(app, network):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = network.vendor.api.post(
        "/vendor-api/v1/inventory",
        data=b"sku,quantity\n" + b"A,1\n" * 1000,
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_bad_cursor_and_limit_are_422(network):
    api = network.retailer.api
    assert api.get("/api/v1/items?cursor=%%%").status_code == 422
    assert api.get("/api/v1/items?limit=5000").status_code == 422


def test_item_with_duplicate_sources_is_refused(session, network):
    variant = make_variant(session, network.vendor)
    body = {"sources": [{"vendor_variant_id": variant}, {"vendor_variant_id": variant}]}
    response = network.retailer.api.put("/api/v1/items/DUP", json=body)
    assert response.status_code == 422
