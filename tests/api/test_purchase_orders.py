"""Vendors acknowledge, reject, ship and cancel purchase-order lines; illegal moves change nothing."""

from __future__ import annotations

import pytest

from tests.builders import availability, push_json
from tests.order_helpers import place, po_of, position, stocked_item


@pytest.fixture
def routed(session, network):
    """An order of 5 units routed to the first vendor, which had 10."""
    retailer, vendor = network.retailer, network.vendor
    variant, sku = stocked_item(session, vendor, [retailer], 10, sku="DESK-1")
    order = place(retailer, [(sku, 5)]).get_json()
    po_id = order["purchase_orders"][0]["id"]
    line_id = po_of(vendor, po_id)["lines"][0]["id"]
    return dict(
        vendor=vendor, retailer=retailer, variant=variant, sku=sku, order=order, po=po_id, line=line_id
    )


def post(r, action: str, body: dict):
    return r["vendor"].api.post(f"/vendor-api/v1/purchase-orders/{r['po']}/{action}", json=body)


def test_vendor_lists_its_purchase_orders_by_status(routed, network):
    vendor = routed["vendor"]
    listed = vendor.api.get("/vendor-api/v1/purchase-orders?status=open").get_json()["data"]
    assert [po["id"] for po in listed] == [routed["po"]]
    assert listed[0]["lines"][0]["vendor_sku"] == "DESK-1"
    assert vendor.api.get("/vendor-api/v1/purchase-orders?status=shipped").get_json()["data"] == []
    assert network.vendors[1].api.get("/vendor-api/v1/purchase-orders").get_json()["data"] == []


def test_acknowledging_twice_changes_nothing_the_second_time(routed, session):
    first = post(routed, "acknowledge", {})
    assert first.status_code == 200 and first.get_json()["status"] == "acknowledged"
    again = post(routed, "acknowledge", {"lines": [{"line_id": routed["line"], "quantity": 5}]})
    assert again.status_code == 200
    assert again.get_json()["lines"][0]["acknowledged_at"] == first.get_json()["lines"][0]["acknowledged_at"]
    assert position(session, routed["variant"]).committed == 5
    events = routed["retailer"].api.get("/api/v1/events?type=po.acknowledged").get_json()["data"]
    assert len(events) == 1


def test_acknowledging_fewer_units_rejects_the_rest_and_releases_them(routed, session):
    response = post(routed, "acknowledge", {"lines": [{"line_id": routed["line"], "quantity": 3}]})
    assert response.status_code == 200
    line = response.get_json()["lines"][0]
    assert (line["rejected"], line["status"]) == (2, "acknowledged")
    assert position(session, routed["variant"]).committed == 3
    assert availability(routed["retailer"], routed["sku"])["available"] == 7


def test_partial_shipments_then_the_rest(routed, session):
    post(routed, "acknowledge", {})
    one = post(
        routed,
        "shipments",
        {"carrier": "UPS", "tracking_number": "1Z1", "lines": [{"line_id": routed["line"], "quantity": 2}]},
    )
    assert one.status_code == 201 and one.get_json()["lines"] == [{"line_id": routed["line"], "quantity": 2}]
    assert po_of(routed["vendor"], routed["po"])["status"] == "partially_shipped"
    post(
        routed,
        "shipments",
        {"carrier": "UPS", "tracking_number": "1Z2", "lines": [{"line_id": routed["line"], "quantity": 3}]},
    )
    po = po_of(routed["vendor"], routed["po"])
    assert po["status"] == "shipped"
    assert [s["tracking_number"] for s in po["shipments"]] == ["1Z1", "1Z2"]
    order = routed["retailer"].api.get(f"/api/v1/orders/{routed['order']['id']}").get_json()
    assert order["lines"][0]["shipped"] == 5
    assert order["lines"][0]["purchase_order_lines"][0]["status"] == "shipped"
    # Shipping changes nothing until the vendor's next count reflects it (basis available: the ack).
    assert position(session, routed["variant"]).committed == 5
    push_json(routed["vendor"], [{"sku": "DESK-1", "quantity": 5}], mode="delta")
    assert position(session, routed["variant"]).committed == 0
    assert availability(routed["retailer"], routed["sku"])["available"] == 5


@pytest.mark.parametrize(
    ("setup", "action", "body", "status"),
    [
        (
            [],
            "shipments",
            {"carrier": "UPS", "tracking_number": "1", "lines": [{"line_id": 0, "quantity": 6}]},
            409,
        ),
        (["cancel"], "acknowledge", {}, 409),
        (
            ["cancel"],
            "shipments",
            {"carrier": "UPS", "tracking_number": "1", "lines": [{"line_id": 0, "quantity": 1}]},
            409,
        ),
        (["ship_all"], "cancel", {"reason": "x"}, 409),
        (["ship_all"], "cancel", {"reason": "x", "lines": [{"line_id": 0, "quantity": 1}]}, 409),
        (["ack"], "reject", {"reason": "x"}, 409),
        ([], "acknowledge", {"lines": [{"line_id": 0, "quantity": 6}]}, 409),
        ([], "acknowledge", {"lines": [{"line_id": 999999, "quantity": 1}]}, 422),
        ([], "shipments", {"carrier": "UPS", "lines": [{"line_id": 0, "quantity": 1}]}, 422),
        (
            [],
            "shipments",
            {"carrier": "UPS", "tracking_number": "1", "lines": [{"line_id": 0, "quantity": -1}]},
            422,
        ),
        ([], "reject", {"lines": [{"line_id": 0, "quantity": 1}]}, 422),
    ],
)
def test_illegal_transitions_answer_a_clear_4xx_and_change_nothing(
    routed, session, setup, action, body, status
):
    def fill(b):
        return (
            {**b, "lines": [{**line, "line_id": line["line_id"] or routed["line"]} for line in b["lines"]]}
            if "lines" in b
            else b
        )

    for step in setup:
        if step == "cancel":
            assert post(routed, "cancel", {"reason": "out of stock"}).status_code == 200
        elif step == "ack":
            assert post(routed, "acknowledge", {}).status_code == 200
        elif step == "ship_all":
            ship = {
                "carrier": "UPS",
                "tracking_number": "1",
                "lines": [{"line_id": routed["line"], "quantity": 5}],
            }
            assert post(routed, "shipments", ship).status_code == 201
    before = po_of(routed["vendor"], routed["po"])
    committed = position(session, routed["variant"]).committed
    response = post(routed, action, fill(body))
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"]
    assert po_of(routed["vendor"], routed["po"]) == before
    assert position(session, routed["variant"]).committed == committed


def test_vendor_cancel_and_reject_release_units_at_once_and_tell_the_retailer(routed, session):
    assert (
        post(
            routed,
            "reject",
            {"reason": "discontinued", "lines": [{"line_id": routed["line"], "quantity": 2}]},
        ).status_code
        == 200
    )
    assert position(session, routed["variant"]).committed == 3
    post(routed, "acknowledge", {})
    assert (
        post(
            routed,
            "cancel",
            {"reason": "damaged in warehouse", "lines": [{"line_id": routed["line"], "quantity": 1}]},
        ).status_code
        == 200
    )
    assert position(session, routed["variant"]).committed == 2
    assert availability(routed["retailer"], routed["sku"])["available"] == 8
    types = [e["type"] for e in routed["retailer"].api.get("/api/v1/events").get_json()["data"]]
    assert {"po.rejected", "po.acknowledged", "po.cancelled"} <= set(types)


def test_another_vendors_purchase_order_is_not_found(routed, network):
    other = network.vendors[1]
    po = routed["po"]
    assert other.api.get(f"/vendor-api/v1/purchase-orders/{po}").status_code == 404
    for action, body in [("acknowledge", {}), ("reject", {"reason": "x"}), ("cancel", {"reason": "x"})]:
        assert other.api.post(f"/vendor-api/v1/purchase-orders/{po}/{action}", json=body).status_code == 404
    ship = {"carrier": "UPS", "tracking_number": "1", "lines": [{"line_id": routed["line"], "quantity": 1}]}
    assert other.api.post(f"/vendor-api/v1/purchase-orders/{po}/shipments", json=ship).status_code == 404
    assert po_of(routed["vendor"], po)["status"] == "open"


def test_a_retailer_token_cannot_use_the_vendor_api(routed):
    assert routed["retailer"].api.get("/vendor-api/v1/purchase-orders").status_code == 403
