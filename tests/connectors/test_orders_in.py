"""Orders in: a store's order webhook becomes a hub order and purchase orders, once, signed or refused."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from network.connectors.models import Connector, ConnectorOrder
from network.orders.models import Order
from network.outbox.models import Event
from tests.connectors.helpers import WOO_CREDENTIALS, connect_store, deliver, map_listing, sign
from tests.order_helpers import stocked_item
from tests.samples import fixture, sample


def _orders(session) -> int:
    session.expire_all()
    count = session.scalar(sa.select(sa.func.count()).select_from(Order))
    session.rollback()
    return count


def _intake(session, connector_id: int, platform_order_id: str) -> ConnectorOrder:
    session.expire_all()
    row = session.scalar(
        sa.select(ConnectorOrder).where(
            ConnectorOrder.connector_id == connector_id, ConnectorOrder.platform_order_id == platform_order_id
        )
    )
    session.rollback()
    return row


def test_connector_is_created_with_its_credentials_sealed_and_never_shown(network, session):
    retailer = network.retailer
    connector = connect_store(retailer, location_id="gid://shopify/Location/1", buffer=2, max_quantity=50)
    assert connector["webhook_url"] == f"http://hub.test/hooks/shopify/{connector['id']}"
    assert "credentials" not in connector and "shpat_test_token" not in json.dumps(connector)
    assert connector["health"] == {
        "last_success_at": None,
        "last_error_at": None,
        "last_error": None,
        "backlog": 0,
    }
    sealed = session.get(Connector, connector["id"]).credentials_sealed
    assert "shpat_test_token" not in sealed and "shopify-hook-secret" not in sealed

    listed = retailer.api.get("/api/v1/connectors").get_json()["data"]
    assert [c["id"] for c in listed] == [connector["id"]]
    paused = retailer.api.patch(f"/api/v1/connectors/{connector['id']}", json={"status": "paused"})
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    # Another retailer sees nothing of it.
    other = network.retailers[1]
    assert other.api.get(f"/api/v1/connectors/{connector['id']}").status_code == 404
    assert other.api.patch(f"/api/v1/connectors/{connector['id']}", json={"buffer": 1}).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "platform": "shopify",
                "shop_url": "https://a.myshopify.com",
                "credentials": {"access_token": "x"},
            },
            "credentials.webhook_secret",
        ),
        (
            {
                "platform": "woocommerce",
                "shop_url": "https://shop.example.com",
                "credentials": {**WOO_CREDENTIALS, "access_token": "x"},
            },
            "credentials.access_token",
        ),
        (
            {
                "platform": "shopify",
                "shop_url": "http://a.myshopify.com",
                "credentials": {"access_token": "x", "webhook_secret": "y"},
            },
            "shop_url",
        ),
        (
            {
                "platform": "shopify",
                "shop_url": "https://127.0.0.1",
                "credentials": {"access_token": "x", "webhook_secret": "y"},
            },
            "shop_url",
        ),
        ({"platform": "magento", "shop_url": "https://a.example.com", "credentials": {}}, "platform"),
    ],
)
def test_bad_connector_is_refused_and_nothing_is_created(network, body, field):
    response = network.retailer.api.post("/api/v1/connectors", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert network.retailer.api.get("/api/v1/connectors").get_json()["data"] == []


def test_shopify_order_webhook_becomes_a_hub_order_once(network, session, client):
    """The real orders/create payload (a Shopify dev store): the order, its purchase order, and a
    redelivery that creates nothing."""
    body = sample("shopify/orders_create_webhook_activepieces_devstore.json")
    retailer, vendor = network.retailer, network.vendor
    stocked_item(session, vendor, [retailer], 5, sku="V-HOSTED")
    # The item is sold under the store's SKU.
    from tests.builders import make_item

    variant_id, _ = stocked_item(session, vendor, [network.retailers[1]], 5)
    make_item(session, retailer, [variant_id], sku="sku-hosted-1")
    connector = connect_store(retailer)

    first = deliver(client, connector, "orders/create", body)
    assert first.status_code == 200, first.get_data(as_text=True)
    answer = first.get_json()
    assert answer["created"] is True and answer["status"] == "placed"
    order = retailer.api.get(f"/api/v1/orders/{answer['order_id']}").get_json()
    assert order["reference"] == "shopify:#1010"
    assert [(line["retailer_sku"], line["requested"], line["accepted"]) for line in order["lines"]] == [
        ("sku-hosted-1", 1, 1)
    ]
    assert len(order["purchase_orders"]) == 1
    assert vendor.api.get("/vendor-api/v1/purchase-orders?status=open").get_json()["data"]

    before = _orders(session)
    again = deliver(client, connector, "orders/create", body)
    updated = deliver(client, connector, "orders/updated", body)
    assert again.get_json() == {"created": False, "status": "placed", "order_id": answer["order_id"]}
    assert updated.get_json()["created"] is False
    assert _orders(session) == before
    health = retailer.api.get(f"/api/v1/connectors/{connector['id']}").get_json()["health"]
    assert health["last_success_at"] is not None


def test_bad_signature_answers_401_and_changes_nothing(network, session, client):
    from tests.builders import make_item, make_variant
    from tests.order_helpers import set_stock

    body = fixture("shopify/orders_create_empty_sku_draft.json")
    green = make_variant(session, network.vendor)
    set_stock(session, network.vendor, green, 5)
    make_item(session, network.retailer, [green], sku="FIX-GREEN-2008")
    connector = connect_store(network.retailer)
    forged = deliver(client, connector, "orders/create", body, secret="not-the-secret")
    assert forged.status_code == 401 and forged.mimetype == "application/problem+json"
    unsigned = client.post(
        f"/hooks/shopify/{connector['id']}", data=body, headers={"X-Shopify-Topic": "orders/create"}
    )
    assert unsigned.status_code == 401
    # The body changed after it was signed: refused too.
    signed = sign("shopify-hook-secret", body)
    tampered = client.post(
        f"/hooks/shopify/{connector['id']}",
        data=body.replace(b'"quantity":1', b'"quantity":9'),
        headers={"X-Shopify-Hmac-Sha256": signed, "X-Shopify-Topic": "orders/create"},
    )
    assert tampered.status_code == 401
    assert _orders(session) == 0
    assert _intake(session, connector["id"], "820982911946154508") is None
    # A Shopify connector is not reachable at the WooCommerce address.
    assert client.post(f"/hooks/woocommerce/{connector['id']}", data=body).status_code == 404
    # The genuine delivery does its work.
    assert deliver(client, connector, "orders/create", body).get_json()["status"] == "placed"
    assert _orders(session) == 1


def test_empty_skus_map_by_variant_id_and_unsourced_lines_are_recorded(network, session, client):
    """Our own draft-order shape: no shipping address, an empty SKU (mapped by the listing's
    variant id), a custom line with no SKU or variant (left to the merchant), an escaped slash."""
    retailer, vendor = network.retailer, network.vendor
    from tests.builders import make_item, make_variant
    from tests.order_helpers import set_stock

    nano = make_variant(session, vendor)
    green = make_variant(session, vendor)
    set_stock(session, vendor, nano, 10)
    set_stock(session, vendor, green, 10)
    make_item(session, retailer, [nano], sku="NANO-8GB")
    make_item(session, retailer, [green], sku="FIX-GREEN-2008")
    connector = connect_store(retailer)
    map_listing(session, connector["id"], "NANO-8GB", "808950810")

    answer = deliver(
        client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json")
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    order = retailer.api.get(f"/api/v1/orders/{answer.get_json()['order_id']}").get_json()
    assert sorted((ln["retailer_sku"], ln["accepted"]) for ln in order["lines"]) == [
        ("FIX-GREEN-2008", 1),
        ("NANO-8GB", 2),
    ]
    # No shipping address on the draft: the customer's default address stands in.
    assert order["ship_to"]["city"] == "Ottawa"
    intake = _intake(session, connector["id"], "820982911946154508")
    assert [(ln["platform_line_id"], ln["reason"]) for ln in intake.ignored_lines] == [
        ("141249953214522974", "no_sku_or_listing")
    ]

    # A refund is not an order topic: acknowledged, nothing changes.
    before = _orders(session)
    refund = deliver(client, connector, "refunds/create", fixture("shopify/refunds_create.json"))
    assert refund.status_code == 200 and refund.get_json()["status"] == "ignored"
    assert _orders(session) == before

    # Cancelled on the store: the unshipped units are cancelled, the vendor hears it.
    cancelled = deliver(client, connector, "orders/cancelled", fixture("shopify/orders_cancelled.json"))
    assert cancelled.get_json()["status"] == "cancelled"
    order = retailer.api.get(f"/api/v1/orders/{order['id']}").get_json()
    assert [(ln["open"], ln["cancelled"]) for ln in order["lines"]] == [
        (0, ln["accepted"]) for ln in order["lines"]
    ]


def test_order_of_products_the_hub_does_not_source_is_left_to_the_merchant(network, session, client):
    body = sample("shopify/rest_order_wrapped_ipod_fixture.json")
    connector = connect_store(network.retailer)
    answer = deliver(client, connector, "orders/create", body).get_json()
    assert answer == {"created": True, "status": "ignored", "order_id": None}
    intake = _intake(session, connector["id"], "450789469")
    assert {ln["sku"] for ln in intake.ignored_lines} == {"IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"}
    assert {ln["reason"] for ln in intake.ignored_lines} == {"not_sourced"}


def test_unfillable_order_is_kept_and_flagged_at_once(network, session, client):
    """The escaped-slash real order of an EU store, for an item with no units: the customer has paid,
    so the hub keeps the order, flags its line and tells the retailer rather than dropping it."""
    body = sample("shopify/rest_order_wrapped_real_eu_store_escaped_slashes.json")
    stocked_item(session, network.vendor, [network.retailer], 0, sku="V-LAMP")
    from tests.builders import make_item, make_variant

    lamp = make_variant(session, network.vendor)
    make_item(session, network.retailer, [lamp], sku="1928-S")
    connector = connect_store(network.retailer)
    answer = deliver(client, connector, "orders/create", body).get_json()
    assert answer["status"] == "unfilled" and answer["order_id"] is not None
    session.expire_all()
    event = session.scalar(sa.select(Event).where(Event.type == "connector.order_unfilled"))
    assert event.data["platform_order_id"] == "4670269816904"
    assert [(ln["retailer_sku"], ln["requested"], ln["available"]) for ln in event.data["lines"]] == [
        ("1928-S", 1, 0)
    ]
    session.rollback()
    (flag,) = network.retailer.api.get("/api/v1/flags?status=open").get_json()["data"]
    assert (flag["kind"], flag["order_id"]) == ("unfillable", answer["order_id"])


def test_woocommerce_order_webhook_becomes_a_hub_order_and_its_cancellation_cancels(network, session, client):
    body = sample("woocommerce/order_wc_v3_rest_order727.json")
    retailer, vendor = network.retailer, network.vendor
    from tests.builders import make_item, make_variant
    from tests.order_helpers import set_stock

    single, black = make_variant(session, vendor), make_variant(session, vendor)
    set_stock(session, vendor, single, 10)
    set_stock(session, vendor, black, 10)
    make_item(session, retailer, [single], sku="WOO-SINGLE")
    make_item(session, retailer, [black], sku="Bar3")
    connector = connect_store(retailer, "woocommerce")
    map_listing(session, connector["id"], "WOO-SINGLE", "93")  # its line has an empty SKU

    answer = deliver(client, connector, "order.created", body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    order = retailer.api.get(f"/api/v1/orders/{answer.get_json()['order_id']}").get_json()
    assert sorted((ln["retailer_sku"], ln["accepted"]) for ln in order["lines"]) == [
        ("Bar3", 1),
        ("WOO-SINGLE", 2),
    ]
    assert order["ship_to"]["postal_code"] == "94103"
    assert deliver(client, connector, "order.created", body).get_json()["created"] is False

    cancelled = json.loads(body)
    cancelled["status"] = "cancelled"
    answer = deliver(client, connector, "order.updated", json.dumps(cancelled).encode()).get_json()
    assert answer["status"] == "cancelled"
    order = retailer.api.get(f"/api/v1/orders/{order['id']}").get_json()
    assert [(ln["open"], ln["cancelled"]) for ln in order["lines"]] == [
        (0, ln["accepted"]) for ln in order["lines"]
    ]


def test_woocommerce_fixture_with_empty_sku_and_refunds(network, session, client):
    retailer, vendor = network.retailer, network.vendor
    from tests.builders import make_item, make_variant
    from tests.order_helpers import set_stock

    single, black = make_variant(session, vendor), make_variant(session, vendor)
    set_stock(session, vendor, single, 10)
    set_stock(session, vendor, black, 10)
    make_item(session, retailer, [single], sku="WOO-SINGLE")
    make_item(session, retailer, [black], sku="FIX-WOO-BLK")
    connector = connect_store(retailer, "woocommerce")
    map_listing(session, connector["id"], "WOO-SINGLE", "93")
    body = fixture("woocommerce/order_created_empty_sku.json")
    forged = deliver(client, connector, "order.created", body, secret="wrong")
    assert forged.status_code == 401
    answer = deliver(client, connector, "order.created", body).get_json()
    order = retailer.api.get(f"/api/v1/orders/{answer['order_id']}").get_json()
    assert sorted((ln["retailer_sku"], ln["accepted"]) for ln in order["lines"]) == [
        ("FIX-WOO-BLK", 1),
        ("WOO-SINGLE", 2),
    ]


def test_paused_connector_asks_the_store_to_retry(network, session, client):
    connector = connect_store(network.retailer)
    network.retailer.api.patch(f"/api/v1/connectors/{connector['id']}", json={"status": "paused"})
    answer = deliver(
        client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json")
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert _intake(session, connector["id"], "820982911946154508") is None
