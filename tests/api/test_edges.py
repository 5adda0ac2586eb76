"""Inputs past what the database holds are a clear 4xx on both databases, never a 500.

Integer ids past PostgreSQL's integer (2**31 - 1; SQLite stops at 2**63 - 1) and text with a NUL
(PostgreSQL text cannot hold one) used to reach the database.
"""

from __future__ import annotations

import io
import re

import pytest

from network.catalog.models import VendorVariant
from network.orders.models import Order
from tests.builders import make_item, make_variant
from tests.order_helpers import place

PAST_INT = 2**31  # past PostgreSQL's integer
PAST_BIGINT = 2**63  # past SQLite's (and PostgreSQL's bigint)
_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _id_paths(app) -> list[tuple[str, str, str]]:
    """(method, path template, rule) for every route with an integer id in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        if "<int" not in rule.rule:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule))
    return found


def _declared_max(template: str) -> int:
    found = re.search(r"<int\(max=(\d+)\)", template)
    return int(found.group(1)) if found else -1


def _fill(template: str, number: int) -> str:
    return _PARAM.sub(lambda m: str(number) if m.group(1) == "int" else "x", template)


def test_every_id_in_a_path_past_the_database_range_is_404(app, network):
    routes = _id_paths(app)
    assert len(routes) >= 28
    for number in (PAST_INT, PAST_BIGINT):
        for method, template in routes:
            in_range = number <= _declared_max(template)  # a BIGINT id: this number is a legal id
            path = _fill(template, number)
            party = network.vendor if path.startswith("/vendor-api/") else network.retailer
            response = party.api._call(method, path, json={})
            if in_range:  # an id nobody has (404), or a page's form without its CSRF token (400)
                assert response.status_code in (400, 404), (method, path, response.status_code)
            else:
                assert response.status_code == 404, (method, path, response.status_code)


@pytest.mark.parametrize("number", [PAST_INT, -PAST_INT - 1, PAST_BIGINT])
def test_an_integer_field_past_the_database_range_is_422(session, network, number):
    make_variant(session, network.vendor, "E1")
    response = network.retailer.api.put(
        "/api/v1/items/EDGE-1", json={"sources": [{"vendor_variant_id": number}]}
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert "sources" in response.get_json()["errors"]


@pytest.mark.parametrize("number", [PAST_INT, PAST_BIGINT])
def test_an_integer_query_parameter_past_the_database_range_is_422(network, number):
    response = network.retailer.api.get(f"/api/v1/flags?order_id={number}")
    assert response.status_code == 422
    assert "order_id" in response.get_json()["errors"]


def test_an_integer_in_range_still_works(session, network):
    variant = make_variant(session, network.vendor, "E2")
    response = network.retailer.api.put(
        "/api/v1/items/EDGE-2", json={"sources": [{"vendor_variant_id": variant}]}
    )
    assert response.status_code in (200, 201)


def test_a_nul_in_a_query_parameter_is_422(network):
    response = network.retailer.api.get("/api/v1/availability?sku=A%00B")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "query" in response.get_json()["errors"]


def test_a_nul_in_a_path_is_422_and_creates_nothing(session, network):
    response = network.vendor.api.put("/vendor-api/v1/variants/A%00B", json={"title": "Lamp"})
    assert response.status_code == 422
    assert session.query(VendorVariant).count() == 0


def test_a_nul_in_a_json_string_is_422_and_changes_nothing(session, network):
    response = network.vendor.api.put("/vendor-api/v1/variants/N1", json={"title": "La\u0000mp"})
    assert response.status_code == 422
    assert "body" in response.get_json()["errors"]
    assert session.query(VendorVariant).count() == 0


def test_a_nul_in_an_order_reference_is_422_and_places_nothing(session, network):
    variant = make_variant(session, network.vendor, "N2")
    sku = make_item(session, network.retailer, [variant])
    response = place(network.retailer, [(sku, 1)], reference="R-\u0000")
    assert response.status_code == 422
    assert session.query(Order).count() == 0


def test_a_nul_in_a_json_key_or_pushed_row_is_422(session, network):
    make_variant(session, network.vendor, "N3")
    response = network.vendor.api.post(
        "/vendor-api/v1/inventory", json={"rows": [{"sku": "N3\u0000", "quantity": 1}]}
    )
    assert response.status_code == 422
    other = network.vendor.api.put("/vendor-api/v1/variants/N4", json={"ti\u0000tle": "x"})
    assert other.status_code == 422


def test_an_escaped_backslash_before_u0000_is_ordinary_text(session, network):
    response = network.vendor.api.put(
        "/vendor-api/v1/variants/N5",
        data='{"title": "C:\\\\u0000"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["title"] == "C:\\u0000"


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "who,method,path",
    [
        ("vendor", "POST", "/vendor-api/v1/inventory"),
        ("retailer", "POST", "/api/v1/orders"),
        ("retailer", "POST", "/api/v1/webhook-endpoints"),
        ("retailer", "PUT", "/api/v1/items/DEEP-1"),
        ("vendor", "POST", "/vendor-api/v1/feeds"),
    ],
)
@pytest.mark.parametrize(
    "body", [DEEP, '{"rows": ' + DEEP + "}", '{"reference": "R", "lines": ' + DEEP + "}"]
)
def test_json_nested_too_deeply_is_a_4xx_problem_and_changes_nothing(
    session, network, who, method, path, body
):
    party = network.vendor if who == "vendor" else network.retailer
    response = party.api._call(
        method, path, data=body, headers={"Content-Type": "application/json", "Idempotency-Key": "deep-1"}
    )
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert session.query(Order).count() == 0


def test_a_nul_in_a_multipart_form_field_is_422(client):
    response = client.post(
        "/portal/stock/upload",
        data={"delimiter": "a\x00b", "file": (io.BytesIO(b"sku,quantity\nA,1\n"), "stock.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.mimetype == "text/html"
