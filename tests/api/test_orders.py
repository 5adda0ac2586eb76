"""Retailers place, read and cancel orders; the hub never promises a unit twice."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from network.outbox.models import Event
from tests.builders import availability, make_item, make_variant
from tests.order_helpers import SHIP_TO, place, po_of, position, set_stock, stocked_item


def test_an_order_reserves_its_units_and_creates_one_purchase_order_per_vendor(session, network):
    retailer = network.retailer
    chair, chair_sku = stocked_item(session, network.vendors[0], [retailer], 5)
    lamp, lamp_sku = stocked_item(session, network.vendors[1], [retailer], 4)

    response = place(retailer, [(chair_sku, 2), (lamp_sku, 1)], reference="PO-1001")

    assert response.status_code == 201, response.get_data(as_text=True)
    order = response.get_json()
    assert order["reference"] == "PO-1001" and order["status"] == "accepted"
    assert [(line["retailer_sku"], line["requested"], line["accepted"]) for line in order["lines"]] == [
        (chair_sku, 2, 2),
        (lamp_sku, 1, 1),
    ]
    assert sorted(po["vendor_id"] for po in order["purchase_orders"]) == sorted(v.id for v in network.vendors)
    assert order["unfilled"] == []
    assert availability(retailer, chair_sku)["available"] == 3
    assert availability(retailer, lamp_sku)["available"] == 3
    assert position(session, chair).committed == 2
    vendor_view = network.vendors[0].api.get("/vendor-api/v1/purchase-orders?status=open").get_json()["data"]
    assert [line["quantity"] for po in vendor_view for line in po["lines"]] == [2]
    assert vendor_view[0]["ship_to"] == SHIP_TO


def test_an_order_short_of_stock_is_refused_whole_with_the_shortfall_per_line(session, network):
    retailer = network.retailer
    chair, chair_sku = stocked_item(session, network.vendor, [retailer], 5)
    lamp, lamp_sku = stocked_item(session, network.vendor, [retailer], 1)

    response = place(retailer, [(chair_sku, 2), (lamp_sku, 3)])

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["lines"] == [{"retailer_sku": lamp_sku, "requested": 3, "available": 1}]
    assert (position(session, chair).committed, position(session, lamp).committed) == (0, 0)
    assert availability(retailer, chair_sku)["available"] == 5
    assert retailer.api.get("/api/v1/orders").get_json()["data"] == []


def test_two_plus_two_against_three_shared_units_is_refused_whole(session, network):
    """Lines drawing on one vendor variant, through one item or two, are reserved together."""
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 3)
    other_sku = make_item(session, retailer, [variant])

    for lines in ([(sku, 2), (sku, 2)], [(sku, 2), (other_sku, 2)]):
        response = place(retailer, lines)
        assert response.status_code == 409, response.get_data(as_text=True)
        assert response.get_json()["lines"][0]["requested"] == 2
        assert position(session, variant).committed == 0
    assert place(retailer, [(sku, 2), (other_sku, 1)]).status_code == 201
    assert availability(retailer, sku)["available"] == 0


def test_allow_partial_accepts_what_it_can_and_says_what_it_could_not(session, network):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 3)
    response = place(retailer, [(sku, 5)], allow_partial=True)
    assert response.status_code == 201
    order = response.get_json()
    assert order["status"] == "partially_accepted"
    assert order["unfilled"] == [
        {"line_id": order["lines"][0]["id"], "retailer_sku": sku, "requested": 5, "accepted": 3}
    ]
    assert position(session, variant).committed == 3
    assert place(retailer, [(sku, 1)], allow_partial=True).status_code == 409  # nothing at all left


def test_routing_follows_connection_priority_and_splits_only_when_allowed(session, network):
    retailer, first, second = network.retailer, network.vendors[0], network.vendors[1]
    a = make_variant(session, first)
    b = make_variant(session, second)
    sku = make_item(session, retailer, [a, b])
    set_stock(session, first, a, 2)
    set_stock(session, second, b, 10)
    # Equal routing priorities: most units first.
    order = place(retailer, [(sku, 3)]).get_json()
    assert [po["vendor_id"] for po in order["purchase_orders"]] == [second.id]
    # The retailer prefers the first vendor.
    (conn,) = [
        c for c in retailer.api.get("/api/v1/connections").get_json()["data"] if c["vendor_id"] == first.id
    ]
    assert (
        retailer.api.patch(f"/api/v1/connections/{conn['id']}", json={"routing_priority": 1}).status_code
        == 200
    )
    split = place(retailer, [(sku, 4)]).get_json()
    assert sorted((pl["vendor_id"], pl["quantity"]) for pl in split["lines"][0]["purchase_order_lines"]) == [
        (first.id, 2),
        (second.id, 2),
    ]
    whole = place(retailer, [(sku, 4)], allow_split=False).get_json()
    assert [(pl["vendor_id"], pl["quantity"]) for pl in whole["lines"][0]["purchase_order_lines"]] == [
        (second.id, 4)
    ]


def test_safety_buffer_stale_feeds_and_paused_connections_are_never_sold(session, network):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 5)
    (conn,) = [
        c
        for c in retailer.api.get("/api/v1/connections").get_json()["data"]
        if c["vendor_id"] == network.vendor.id
    ]
    retailer.api.patch(f"/api/v1/connections/{conn['id']}", json={"safety_buffer": 2})
    assert place(retailer, [(sku, 4)]).get_json()["lines"] == [
        {"retailer_sku": sku, "requested": 4, "available": 3}
    ]
    retailer.api.patch(f"/api/v1/connections/{conn['id']}", json={"status": "paused"})
    assert place(retailer, [(sku, 1)]).status_code == 409
    assert position(session, variant).committed == 0


def test_the_same_key_and_body_returns_the_first_answer_and_creates_nothing(session, network):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 5)
    key = uuid.uuid4().hex
    first = place(retailer, [(sku, 2)], key=key, reference="SAME")
    again = place(retailer, [(sku, 2)], key=key, reference="SAME")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert position(session, variant).committed == 2
    assert len(retailer.api.get("/api/v1/orders").get_json()["data"]) == 1


def test_the_same_key_with_another_body_is_a_conflict(session, network):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 5)
    key = uuid.uuid4().hex
    assert place(retailer, [(sku, 2)], key=key, reference="A").status_code == 201
    response = place(retailer, [(sku, 3)], key=key, reference="A")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.get_json()["detail"]
    assert position(session, variant).committed == 2


def test_a_refused_order_is_refused_again_under_its_key(session, network):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 1)
    key = uuid.uuid4().hex
    assert place(retailer, [(sku, 2)], key=key, reference="X").status_code == 409
    set_stock(session, network.vendor, variant, 10)
    again = place(retailer, [(sku, 2)], key=key, reference="X")
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert position(session, variant).committed == 0


def test_an_order_without_idempotency_key_or_with_bad_input_is_a_4xx_and_changes_nothing(session, network):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 5)
    body = {"reference": "R", "lines": [{"retailer_sku": sku, "quantity": 1}], "ship_to": SHIP_TO}
    response = retailer.api.post("/api/v1/orders", json=body)
    assert response.status_code == 422 and "Idempotency-Key" in response.get_json()["errors"]
    bad = [
        {**body, "lines": []},
        {**body, "lines": [{"retailer_sku": sku, "quantity": 0}]},
        {**body, "lines": [{"retailer_sku": sku, "quantity": "1"}]},
        {**body, "lines": [{"retailer_sku": "NOPE", "quantity": 1}]},
        {**body, "ship_to": {"name": "x"}},
        {**body, "surprise": True},
    ]
    for payload in bad:
        response = retailer.api.post(
            "/api/v1/orders", json=payload, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert response.status_code == 422, (payload, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
    assert position(session, variant).committed == 0


def test_cancelling_part_of_a_line_releases_exactly_those_units_once(session, network):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 10)
    order = place(retailer, [(sku, 6)]).get_json()
    line_id = order["lines"][0]["id"]
    cancel = retailer.api.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"lines": [{"line_id": line_id, "quantity": 2}]}
    )
    assert cancel.status_code == 200, cancel.get_data(as_text=True)
    assert cancel.get_json()["lines"][0]["cancelled"] == 2
    assert position(session, variant).committed == 4
    assert availability(retailer, sku)["available"] == 6
    # Cancelling more than is left changes nothing.
    too_many = retailer.api.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"lines": [{"line_id": line_id, "quantity": 5}]}
    )
    assert too_many.status_code == 409
    assert position(session, variant).committed == 4
    assert retailer.api.post(f"/api/v1/orders/{order['id']}/cancel", json={}).status_code == 200
    assert position(session, variant).committed == 0
    assert retailer.api.post(f"/api/v1/orders/{order['id']}/cancel", json={}).status_code == 409
    assert position(session, variant).committed == 0
    assert availability(retailer, sku)["available"] == 10


def test_shipped_units_cannot_be_cancelled(session, network):
    retailer, vendor = network.retailer, network.vendor
    variant, sku = stocked_item(session, vendor, [retailer], 5)
    order = place(retailer, [(sku, 3)]).get_json()
    po_id = order["purchase_orders"][0]["id"]
    po_line = po_of(vendor, po_id)["lines"][0]
    ship = {"carrier": "UPS", "tracking_number": "1Z", "lines": [{"line_id": po_line["id"], "quantity": 3}]}
    assert vendor.api.post(f"/vendor-api/v1/purchase-orders/{po_id}/shipments", json=ship).status_code == 201
    line_id = order["lines"][0]["id"]
    response = retailer.api.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"lines": [{"line_id": line_id, "quantity": 1}]}
    )
    assert response.status_code == 409
    assert "unshipped" in response.get_json()["detail"]
    assert retailer.api.get(f"/api/v1/orders/{order['id']}").get_json()["lines"][0]["shipped"] == 3


def test_order_events_are_in_the_retailer_event_log(session, network):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 5)
    order = place(retailer, [(sku, 2)]).get_json()
    retailer.api.post(f"/api/v1/orders/{order['id']}/cancel", json={})
    types = [e["type"] for e in retailer.api.get("/api/v1/events").get_json()["data"]]
    assert "order.accepted" in types and "po.cancelled" in types
    assert types.count("availability.changed") >= 3  # stock in, order, cancel
    vendor_types = set(session.scalars(sa.select(Event.type).where(Event.org_id == network.vendor.id)))
    assert "po.created" in vendor_types


def test_another_retailers_order_is_not_found(session, network):
    first, second = network.retailers
    variant, sku = stocked_item(session, network.vendor, [first], 5)
    order = place(first, [(sku, 1)]).get_json()
    assert second.api.get(f"/api/v1/orders/{order['id']}").status_code == 404
    assert second.api.post(f"/api/v1/orders/{order['id']}/cancel", json={}).status_code == 404
    returns = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "x"}
    assert second.api.post(f"/api/v1/orders/{order['id']}/returns", json=returns).status_code == 404
    assert second.api.get("/api/v1/orders").get_json()["data"] == []
    assert position(session, variant).committed == 1
