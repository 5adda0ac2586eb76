"""Returns: shipped units come back, wait for inspection unsold, then go back to stock or to damaged."""

from __future__ import annotations

import pytest

from tests.builders import availability, push_json
from tests.order_helpers import place, po_of, position, stocked_item


def ship_order(retailer, vendor, sku: str, quantity: int) -> dict:
    order = place(retailer, [(sku, quantity)]).get_json()
    po_id = order["purchase_orders"][0]["id"]
    line = po_of(vendor, po_id)["lines"][0]["id"]
    ship = {"carrier": "DHL", "tracking_number": "JD1", "lines": [{"line_id": line, "quantity": quantity}]}
    assert vendor.api.post(f"/vendor-api/v1/purchase-orders/{po_id}/shipments", json=ship).status_code == 201
    return order


def open_return(retailer, order: dict, quantity: int, reason: str = "dented"):
    body = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": quantity}], "reason": reason}
    return retailer.api.post(f"/api/v1/orders/{order['id']}/returns", json=body)


def test_seed_case_three_dented_chairs_back_at_a_vendor_at_zero_still_show_zero(session, network):
    """The seed's case: the vendor is out of the chair; three dented returns never make it sellable."""
    retailer, vendor = network.retailer, network.vendor
    chair, sku = stocked_item(session, vendor, [retailer], 3, sku="NW-CHAIR-ERGO")
    order = ship_order(retailer, vendor, sku, 3)
    push_json(vendor, [{"sku": "NW-CHAIR-ERGO", "quantity": 0}], mode="delta")  # the vendor is out
    assert availability(retailer, sku)["available"] == 0

    opened = open_return(retailer, order, 3)
    assert opened.status_code == 201, opened.get_data(as_text=True)
    (ret,) = opened.get_json()["data"]
    assert (ret["quantity"], ret["status"]) == (3, "open")
    listed = vendor.api.get("/vendor-api/v1/returns?status=open").get_json()["data"]
    assert [r["id"] for r in listed] == [ret["id"]]

    received = vendor.api.post(f"/vendor-api/v1/returns/{ret['id']}/receive", json={"quantity": 3})
    assert received.status_code == 200 and received.get_json()["received"] == 3
    assert position(session, chair).pending_inspection == 3
    assert availability(retailer, sku)["available"] == 0
    refused = place(retailer, [(sku, 1)])
    assert refused.status_code == 409
    assert refused.get_json()["lines"] == [{"retailer_sku": sku, "requested": 1, "available": 0}]

    graded = vendor.api.post(
        f"/vendor-api/v1/returns/{ret['id']}/inspection", json={"resellable": 0, "damaged": 3}
    )
    assert graded.status_code == 200 and graded.get_json()["status"] == "closed"
    pos = position(session, chair)
    assert (pos.quantity, pos.pending_inspection, pos.damaged) == (0, 0, 3)
    assert availability(retailer, sku)["available"] == 0
    assert place(retailer, [(sku, 1)]).status_code == 409
    types = [e["type"] for e in retailer.api.get("/api/v1/events").get_json()["data"]]
    assert {"return.opened", "return.received", "return.graded"} <= set(types)


def test_resellable_units_go_back_to_the_vendors_quantity(session, network):
    retailer, vendor = network.retailer, network.vendor
    variant, sku = stocked_item(session, vendor, [retailer], 4)
    order = ship_order(retailer, vendor, sku, 4)
    push_json(vendor, [{"sku": _vsku(session, variant), "quantity": 0}], mode="delta")
    (ret,) = open_return(retailer, order, 3, "wrong size").get_json()["data"]
    vendor.api.post(f"/vendor-api/v1/returns/{ret['id']}/receive", json={"quantity": 3})
    graded = vendor.api.post(
        f"/vendor-api/v1/returns/{ret['id']}/inspection", json={"resellable": 2, "damaged": 1}
    )
    assert graded.status_code == 200
    pos = position(session, variant)
    assert (pos.quantity, pos.pending_inspection, pos.damaged) == (2, 0, 1)
    assert availability(retailer, sku)["available"] == 2
    assert place(retailer, [(sku, 2)]).status_code == 201


def _vsku(session, variant_id: int) -> str:
    from network.catalog.models import VendorVariant

    return session.get(VendorVariant, variant_id).vendor_sku


@pytest.mark.parametrize(
    ("steps", "path", "body", "status"),
    [
        ([], "receive", {"quantity": 3}, 409),  # more than expected (2)
        ([], "inspection", {"resellable": 1, "damaged": 0}, 409),  # nothing received yet
        (["receive1"], "inspection", {"resellable": 1, "damaged": 1}, 409),  # more than received
        (["receive1"], "inspection", {"resellable": 0, "damaged": 0}, 422),
        (["receive1"], "inspection", {"resellable": -1, "damaged": 2}, 422),
        ([], "receive", {"quantity": 0}, 422),
    ],
)
def test_illegal_return_steps_answer_4xx_and_change_nothing(session, network, steps, path, body, status):
    retailer, vendor = network.retailer, network.vendor
    variant, sku = stocked_item(session, vendor, [retailer], 2)
    order = ship_order(retailer, vendor, sku, 2)
    (ret,) = open_return(retailer, order, 2).get_json()["data"]
    if "receive1" in steps:
        vendor.api.post(f"/vendor-api/v1/returns/{ret['id']}/receive", json={"quantity": 1})
    before = vendor.api.get(f"/vendor-api/v1/returns/{ret['id']}").get_json()
    stock = position(session, variant)
    counts = (stock.quantity, stock.pending_inspection, stock.damaged)
    response = vendor.api.post(f"/vendor-api/v1/returns/{ret['id']}/{path}", json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert vendor.api.get(f"/vendor-api/v1/returns/{ret['id']}").get_json() == before
    stock = position(session, variant)
    assert (stock.quantity, stock.pending_inspection, stock.damaged) == counts


def test_only_shipped_units_not_yet_returned_can_be_returned(session, network):
    retailer, vendor = network.retailer, network.vendor
    variant, sku = stocked_item(session, vendor, [retailer], 5)
    unshipped = place(retailer, [(sku, 2)]).get_json()
    assert open_return(retailer, unshipped, 1).status_code == 409
    order = ship_order(retailer, vendor, sku, 2)
    assert open_return(retailer, order, 3).status_code == 409
    assert open_return(retailer, order, 2).status_code == 201
    assert open_return(retailer, order, 1).status_code == 409
    bad = retailer.api.post(f"/api/v1/orders/{order['id']}/returns", json={"lines": [], "reason": "x"})
    assert bad.status_code == 422


def test_another_vendors_return_is_not_found(session, network):
    retailer, vendor = network.retailer, network.vendor
    variant, sku = stocked_item(session, vendor, [retailer], 1)
    order = ship_order(retailer, vendor, sku, 1)
    (ret,) = open_return(retailer, order, 1).get_json()["data"]
    other = network.vendors[1]
    assert other.api.get(f"/vendor-api/v1/returns/{ret['id']}").status_code == 404
    assert (
        other.api.post(f"/vendor-api/v1/returns/{ret['id']}/receive", json={"quantity": 1}).status_code == 404
    )
    assert other.api.get("/vendor-api/v1/returns").get_json()["data"] == []
    assert position(session, variant).pending_inspection == 0
