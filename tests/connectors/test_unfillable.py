"""A store line the hub cannot fill: the order is kept (the customer has paid) and the line flagged
`unfillable` at once, in the flags list, the order and the retailer's events, until it is cancelled."""

from __future__ import annotations

import json

import sqlalchemy as sa

from network.clock import utcnow
from network.connectors.models import ConnectorOrder
from network.db import transaction
from network.flags.unfillable import after_acceptance
from network.orders.models import Order, OrderLine
from tests.builders import make_item, make_variant
from tests.connectors.helpers import connect_store, deliver, map_listing
from tests.flag_helpers import events_of, flags_of
from tests.order_helpers import set_stock
from tests.samples import fixture

ORDER = "820982911946154508"  # tests/fixtures/shopify/orders_create_empty_sku_draft.json


def _store(network, session, *, nano: int, green: int) -> dict:
    """The draft order's two sourced items (NANO-8GB × 2 by variant id, FIX-GREEN-2008 × 1) with some units."""
    retailer, vendor = network.retailer, network.vendor
    for sku, units in (("NANO-8GB", nano), ("FIX-GREEN-2008", green)):
        variant = make_variant(session, vendor)
        set_stock(session, vendor, variant, units)
        make_item(session, retailer, [variant], sku=sku)
    connector = connect_store(retailer)
    map_listing(session, connector["id"], "NANO-8GB", "808950810")
    return connector


def test_a_store_order_the_hub_cannot_fill_at_all_is_kept_flagged_and_cleared_by_its_cancellation(
    network, session, client
):
    retailer = network.retailer
    connector = _store(network, session, nano=0, green=0)

    answer = deliver(
        client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json")
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "unfilled"
    order_id = answer.get_json()["order_id"]
    order = retailer.api.get(f"/api/v1/orders/{order_id}").get_json()
    assert order["purchase_orders"] == []
    assert sorted((ln["retailer_sku"], ln["requested"], ln["accepted"]) for ln in order["lines"]) == [
        ("FIX-GREEN-2008", 1, 0),
        ("NANO-8GB", 2, 0),
    ]
    flags = flags_of(retailer, "open")
    assert sorted((f["kind"], f["detail"]["retailer_sku"], f["detail"]["missing"]) for f in flags) == [
        ("unfillable", "FIX-GREEN-2008", 1),
        ("unfillable", "NANO-8GB", 2),
    ]
    assert {(f["order_id"], f["purchase_order_line_id"]) for f in flags} == {(order_id, None)}
    assert {f["line_id"] for f in flags} == {ln["id"] for ln in order["lines"]}
    # Each line shows its flag on the order, and the retailer's webhooks are sent order.at_risk.
    assert all([f["kind"] for f in ln["flags"]] == ["unfillable"] for ln in order["lines"])
    at_risk = events_of(session, retailer, "order.at_risk")
    assert sorted(e["line_id"] for e in at_risk) == sorted(f["line_id"] for f in flags)
    assert {(e["kind"], e["purchase_order_id"], e["purchase_order_line_id"]) for e in at_risk} == {
        ("unfillable", None, None)
    }
    # A redelivery raises nothing twice.
    deliver(client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json"))
    assert len(flags_of(retailer, "open")) == 2

    # The merchant cancels the order on the store: nobody waits for those units any more.
    cancelled = deliver(client, connector, "orders/cancelled", fixture("shopify/orders_cancelled.json"))
    assert cancelled.get_json()["status"] == "cancelled"
    assert flags_of(retailer, "open") == []
    assert {(f["kind"], f["resolution"]) for f in flags_of(retailer, "resolved")} == {
        ("unfillable", "cancelled")
    }
    resolved = events_of(session, retailer, "flag.resolved")
    assert sorted(e["line_id"] for e in resolved) == sorted(f["line_id"] for f in flags)


def test_a_store_line_filled_in_part_is_flagged_for_its_missing_units_only(network, session, client):
    retailer = network.retailer
    connector = _store(network, session, nano=1, green=5)

    answer = deliver(
        client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json")
    )
    assert answer.get_json()["status"] == "placed"
    order = retailer.api.get(f"/api/v1/orders/{answer.get_json()['order_id']}").get_json()
    lines = {ln["retailer_sku"]: ln for ln in order["lines"]}
    assert (lines["NANO-8GB"]["accepted"], lines["FIX-GREEN-2008"]["accepted"]) == (1, 1)
    assert [(f["kind"], f["detail"]) for f in lines["NANO-8GB"]["flags"]] == [
        ("unfillable", {"retailer_sku": "NANO-8GB", "requested": 2, "accepted": 1, "missing": 1})
    ]
    assert lines["FIX-GREEN-2008"]["flags"] == []
    (flag,) = flags_of(retailer, "open")
    assert flag["line_id"] == lines["NANO-8GB"]["id"]
    session.expire_all()
    record = session.scalar(sa.select(ConnectorOrder).where(ConnectorOrder.platform_order_id == ORDER))
    assert [(ln["retailer_sku"], ln["line_id"]) for ln in record.unfilled_lines] == [
        ("NANO-8GB", lines["NANO-8GB"]["id"])
    ]
    session.rollback()

    # The WooCommerce-shaped cancellation path is the same intake: the store cancels, the flag clears
    # and the unit that was reserved is released.
    cancelled = deliver(client, connector, "orders/cancelled", fixture("shopify/orders_cancelled.json"))
    assert cancelled.get_json()["status"] == "cancelled"
    assert flags_of(retailer, "open") == []
    order = retailer.api.get(f"/api/v1/orders/{order['id']}").get_json()
    assert all(ln["flags"] == [] and ln["open"] == 0 for ln in order["lines"])


def test_a_woocommerce_order_with_no_units_is_flagged_too(network, session, client):
    retailer, vendor = network.retailer, network.vendor
    for sku in ("WOO-SINGLE", "FIX-WOO-BLK"):
        variant = make_variant(session, vendor)
        set_stock(session, vendor, variant, 0)
        make_item(session, retailer, [variant], sku=sku)
    connector = connect_store(retailer, "woocommerce")
    map_listing(session, connector["id"], "WOO-SINGLE", "93")
    body = fixture("woocommerce/order_created_empty_sku.json")
    answer = deliver(client, connector, "order.created", body).get_json()
    assert answer["status"] == "unfilled"
    assert sorted(f["detail"]["retailer_sku"] for f in flags_of(retailer, "open")) == [
        "FIX-WOO-BLK",
        "WOO-SINGLE",
    ]
    cancelled = json.loads(body)
    cancelled["status"] = "cancelled"
    deliver(client, connector, "order.updated", json.dumps(cancelled).encode())
    assert flags_of(retailer, "open") == []


def test_a_line_whose_missing_units_are_found_later_is_cleared_as_filled(network, session, client):
    """What a later fill (the retailer's hand reroute) does: more units accepted, `accepted` sent."""
    retailer = network.retailer
    connector = _store(network, session, nano=1, green=5)
    order_id = deliver(
        client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json")
    ).get_json()["order_id"]
    assert len(flags_of(retailer, "open")) == 1
    with transaction(session):
        line = session.scalar(
            sa.select(OrderLine).where(OrderLine.order_id == order_id, OrderLine.retailer_sku == "NANO-8GB")
        )
        line.accepted = line.requested
        session.flush()
        after_acceptance(session, session.get(Order, order_id), now=utcnow())
    assert flags_of(retailer, "open") == []
    (flag,) = flags_of(retailer, "resolved")
    assert (flag["kind"], flag["resolution"]) == ("unfillable", "filled")
