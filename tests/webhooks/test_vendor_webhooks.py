"""Vendor webhooks and events: a vendor registers its own endpoint (scope webhooks:manage) and hears
its events (po.created, po.cancelled by the retailer, hold.placed, catalog.held, ...) on a real HTTP
server on 127.0.0.1, signed and retried like a retailer's; the same events read by cursor."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from network.extensions import db
from network.outbox.signing import verify
from tests.builders import make_org
from tests.order_helpers import place, stocked_item


@pytest.fixture
def httpserver():
    """A receiver of this module's own on 127.0.0.1, the one host the hub lets tests reach over plain
    http (tests/webhooks/conftest.py). pytest-httpserver's session server would not do: whichever
    module starts it first on a test process picks its address (often "localhost")."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def _register(vendor, url, events=("*",)):
    response = vendor.api.post("/vendor-api/v1/webhook-endpoints", json={"url": url, "events": list(events)})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


class Script:
    """Answers scripted statuses (then 200) and keeps every request."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), request.get_data()))
        return Response("", status=self.statuses.pop(0) if self.statuses else 200)


def test_a_vendor_endpoint_gets_po_created_signed_and_retried(
    session, network, dispatcher, clock, httpserver: HTTPServer
):
    vendor, retailer = network.vendor, network.retailer
    script = Script(500)
    httpserver.expect_request("/hooks/dropnet", method="POST").respond_with_handler(script)
    endpoint = _register(vendor, httpserver.url_for("/hooks/dropnet"), ["po.*"])
    _, sku = stocked_item(session, vendor, [retailer], 5)
    order = place(retailer, [(sku, 2)]).get_json()

    dispatcher.run_until_idle()
    assert len(script.requests) == 1  # answered 500
    clock.advance(seconds=11)
    dispatcher.run_until_idle()
    first, second = script.requests
    assert first[0]["Dropnet-Delivery"] == second[0]["Dropnet-Delivery"] and first[1] == second[1]
    body = json.loads(second[1])
    assert body["type"] == "po.created"
    assert body["data"]["purchase_order_id"] == order["purchase_orders"][0]["id"]
    signature = second[0]["Dropnet-Signature"]
    timestamp = int(signature.split(",")[0][2:])
    assert verify(signature, second[1], endpoint["secret"], now=timestamp) == timestamp
    db.session.rollback()
    (delivery,) = vendor.api.get(f"/vendor-api/v1/webhook-endpoints/{endpoint['id']}/deliveries").get_json()[
        "data"
    ]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)


def test_vendor_events_by_cursor_include_the_retailers_cancellation_and_holds(session, network):
    vendor, retailer = network.vendor, network.retailer
    _, sku = stocked_item(session, vendor, [retailer], 5)
    order = place(retailer, [(sku, 2)]).get_json()
    assert retailer.api.post(f"/api/v1/orders/{order['id']}/cancel", json={}).status_code == 200
    page = vendor.api.get("/vendor-api/v1/events?limit=1000").get_json()
    types = [e["type"] for e in page["data"]]
    assert types[:2] == ["po.created", "po.cancelled"]
    assert page["data"][1]["data"]["by"] == "retailer"
    again = vendor.api.get(f"/vendor-api/v1/events?cursor={page['next_cursor']}").get_json()
    assert again["data"] == [] and again["next_cursor"] == page["next_cursor"]

    order = place(retailer, [(sku, 1)]).get_json()
    po = order["purchase_orders"][0]
    refused = vendor.api.post(
        f"/vendor-api/v1/purchase-orders/{po['id']}/reject",
        json={"reason": "none left", "reason_code": "out_of_stock"},
    )
    assert refused.status_code == 200, refused.get_data(as_text=True)
    later = vendor.api.get(f"/vendor-api/v1/events?cursor={page['next_cursor']}&type=hold.placed").get_json()
    assert [e["type"] for e in later["data"]] == ["hold.placed"]
    # The retailer does not see the vendor's events, nor the vendor the retailer's.
    assert "hold.placed" not in [
        e["type"] for e in retailer.api.get("/api/v1/events?limit=1000").get_json()["data"]
    ]
    assert "order.accepted" not in types


def test_vendor_endpoints_are_isolated_and_need_the_scope(session, client, network, httpserver: HTTPServer):
    first, second = network.vendors
    endpoint = _register(first, httpserver.url_for("/a"))
    assert second.api.get(f"/vendor-api/v1/webhook-endpoints/{endpoint['id']}").status_code == 404
    assert second.api.delete(f"/vendor-api/v1/webhook-endpoints/{endpoint['id']}").status_code == 404
    assert second.api.get("/vendor-api/v1/webhook-endpoints").get_json()["data"] == []
    assert network.retailer.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").status_code == 404
    narrow = make_org(session, client, "vendor", scopes=["inventory:write"])
    assert (
        narrow.api.post(
            "/vendor-api/v1/webhook-endpoints", json={"url": httpserver.url_for("/b"), "events": ["*"]}
        ).status_code
        == 403
    )
    assert narrow.api.get("/vendor-api/v1/events").status_code == 403


def test_bad_endpoint_input_is_422_per_field_and_creates_nothing(network):
    vendor = network.vendor
    response = vendor.api.post(
        "/vendor-api/v1/webhook-endpoints", json={"url": "ftp://example.com/x", "events": ["Not An Event!"]}
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert vendor.api.get("/vendor-api/v1/webhook-endpoints").get_json()["data"] == []
    missing = vendor.api.post("/vendor-api/v1/webhook-endpoints", json={"events": ["*"]})
    assert missing.status_code == 422 and "url" in missing.get_json()["errors"]
    assert vendor.api.get("/vendor-api/v1/events?cursor=bogus").status_code == 422
