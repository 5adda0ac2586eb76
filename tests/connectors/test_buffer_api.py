"""A connector's buffer through the API (issue 18): null is automatic, a bad one changes nothing."""

from __future__ import annotations

from tests.connectors.helpers import connect_store


def test_null_is_automatic_and_negative_or_invalid_buffers_answer_422(network):
    retailer = network.retailer
    connector = connect_store(retailer)
    assert connector["buffer"] is None  # automatic unless set
    path = f"/api/v1/connectors/{connector['id']}"
    assert retailer.api.patch(path, json={"buffer": 2}).get_json()["buffer"] == 2
    for bad in (-1, 1.5, "auto", 2_000_000):
        refused = retailer.api.patch(path, json={"buffer": bad})
        assert refused.status_code == 422, bad
        assert refused.content_type.startswith("application/problem+json")
        assert "buffer" in refused.get_json()["errors"]
        assert retailer.api.get(path).get_json()["buffer"] == 2
    back = retailer.api.patch(path, json={"buffer": None})
    assert back.status_code == 200 and back.get_json()["buffer"] is None
    assert retailer.api.get(path).get_json()["buffer"] is None
    refused = retailer.api.post(
        "/api/v1/connectors",
        json={"platform": "shopify", "shop_url": "https://b.myshopify.com", "credentials": {}, "buffer": -3},
    )
    assert refused.status_code == 422 and len(retailer.api.get("/api/v1/connectors").get_json()["data"]) == 1
