"""SKUs are NFC-normalized and refuse control and invisible formatting characters, on every way in."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import pytest

from network.catalog.models import RetailerItem, VendorVariant
from tests.builders import availability, make_variant, push_csv, push_json

COMPOSED = "CAF\u00c9-1"  # É as one code point
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)  # E + combining acute accent


@pytest.mark.parametrize(
    "sku", ["A\u202eB", "A\u200bB", "A\u2066B", "A\tB", "A\x7fB", "A\u2028B", "A\ue000B"]
)
def test_a_variant_sku_with_a_control_or_bidi_character_is_422(session, network, sku):
    response = network.vendor.api.put(f"/vendor-api/v1/variants/{quote(sku)}", json={"title": "x"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "vendor_sku" in response.get_json()["errors"]
    assert session.query(VendorVariant).count() == 0


def test_a_retailer_sku_with_a_bidi_override_is_422(session, network):
    variant = make_variant(session, network.vendor, "OK-1")
    response = network.retailer.api.put(
        "/api/v1/items/" + quote("EVIL\u202eGPJ"), json={"sources": [{"vendor_variant_id": variant}]}
    )
    assert response.status_code == 422
    assert "retailer_sku" in response.get_json()["errors"]
    assert session.query(RetailerItem).count() == 0


def test_skus_typed_either_way_are_one_sku(session, network):
    created = network.vendor.api.put(f"/vendor-api/v1/variants/{quote(DECOMPOSED)}", json={"title": "Café"})
    assert created.status_code == 201
    assert created.get_json()["vendor_sku"] == COMPOSED
    again = network.vendor.api.put(f"/vendor-api/v1/variants/{quote(COMPOSED)}", json={"title": "Café"})
    assert again.status_code == 200
    assert session.query(VendorVariant).count() == 1
    variant = session.query(VendorVariant).one()
    item = network.retailer.api.put(
        f"/api/v1/items/{quote(DECOMPOSED)}", json={"sources": [{"vendor_variant_id": variant.id}]}
    )
    assert item.status_code == 201 and item.get_json()["retailer_sku"] == COMPOSED
    # A pushed count names the SKU either way and reaches the one variant.
    run = push_json(network.vendor, [{"sku": DECOMPOSED, "quantity": 7}]).get_json()
    assert run["rows_applied"] == 1, run
    assert availability(network.retailer, DECOMPOSED)["available"] == 7


def test_a_feed_row_with_a_refused_character_is_rejected_alone(session, network):
    make_variant(session, network.vendor, "GOOD-1")
    run = push_csv(network.vendor, "sku,quantity\nGOOD-1,3\nBAD\u200b-1,4\n").get_json()
    assert run["rows_applied"] == 1
    assert [e["line"] for e in run["errors"]] == [3]
    assert "U+200B" in run["errors"][0]["reason"]
