"""Tracking back and stock out, against local Shopify- and WooCommerce-shaped stores."""

from __future__ import annotations

import time

import pytest

from network.clock import utcnow
from network.connectors.http import StoreError, Transport
from network.connectors.sync import Clients, sync_connector
from network.extensions import db
from network.feeds.credentials import Credentials
from tests.builders import make_item, make_variant
from tests.connectors.fake_stores import FakeShopify, FakeWoo
from tests.connectors.helpers import connect_store, deliver, map_listing
from tests.order_helpers import set_stock
from tests.samples import fixture

ORDER = "820982911946154508"
NANO_LINE, GREEN_LINE = "866550311766439020", "141249953214522975"


@pytest.fixture
def shopify():
    store = FakeShopify()
    store.url = store.start()
    yield store
    store.stop()


@pytest.fixture
def woo():
    store = FakeWoo()
    store.url = store.start()
    yield store
    store.stop()


@pytest.fixture
def local_stores(app):
    app.config["HUB_CONNECTOR_ALLOW_HTTP_HOSTS"] = "127.0.0.1"


class Waits(list):
    """A sleep that records the waits instead of sleeping (the fake stores count in real time)."""

    def __call__(self, seconds: float) -> None:
        self.append(round(seconds, 3))


def sync(connector: dict, waits: Waits | None = None):
    clients = Clients(
        Credentials("test-secret"), transport=lambda: Transport(sleep=waits if waits is not None else Waits())
    )
    return sync_connector(db.session, clients, connector["id"], now=utcnow())


def _po_lines(retailer, order_id: int) -> dict[str, dict]:
    order = retailer.api.get(f"/api/v1/orders/{order_id}").get_json()
    return {line["retailer_sku"]: line["purchase_order_lines"][0] for line in order["lines"]}


def _vendor(vendor, po_line: dict, action: str, body: dict):
    response = vendor.api.post(
        f"/vendor-api/v1/purchase-orders/{po_line['purchase_order_id']}/{action}", json=body
    )
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def test_shopify_order_shipped_in_parts_and_stock_reach_the_store(
    network, session, client, shopify, local_stores
):
    retailer, vendor = network.retailer, network.vendor
    nano, green = make_variant(session, vendor), make_variant(session, vendor)
    set_stock(session, vendor, nano, 10)
    set_stock(session, vendor, green, 4)
    make_item(session, retailer, [nano], sku="NANO-8GB")
    make_item(session, retailer, [green], sku="FIX-GREEN-2008")
    shopify.add_variant("NANO-8GB", 1, available=99)
    shopify.add_variant("FIX-GREEN-2008", 2, available=99)
    shopify.add_order(ORDER, {NANO_LINE: 2, GREEN_LINE: 1})
    connector = connect_store(retailer, shop_url=shopify.url, location_id="1", buffer=1, max_quantity=6)
    map_listing(session, connector["id"], "NANO-8GB", "808950810")

    answer = deliver(
        client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json")
    )
    order_id = answer.get_json()["order_id"]
    report = sync(connector)
    assert report.error is None, report
    # Availability after buffer and cap: NANO 10 - 2 ordered = 8 -> min(8 - 1, 6); GREEN 4 - 1 - 1.
    assert (shopify.available_of("NANO-8GB"), shopify.available_of("FIX-GREEN-2008")) == (6, 2)
    # The inventory item ids were found by SKU and kept: the next round asks nothing.
    before = shopify.requests
    assert sync(connector).figures_sent == 0 and shopify.requests == before

    lines = _po_lines(retailer, order_id)
    _vendor(vendor, lines["NANO-8GB"], "acknowledge", {})
    _vendor(
        vendor,
        lines["NANO-8GB"],
        "shipments",
        {
            "carrier": "UPS",
            "tracking_number": "1Z999",
            "lines": [{"line_id": lines["NANO-8GB"]["id"], "quantity": 1}],
        },
    )
    assert sync(connector).fulfillments == 1
    (first,) = shopify.fulfillments
    assert first["trackingInfo"] == {
        "company": "UPS",
        "number": "1Z999",
        "url": "https://www.ups.com/track?tracknum=1Z999",
    }
    assert first["lineItemsByFulfillmentOrder"] == [
        {
            "fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{ORDER}",
            "fulfillmentOrderLineItems": [
                {"id": f"gid://shopify/FulfillmentOrderLineItem/{NANO_LINE}", "quantity": 1}
            ],
        }
    ]
    assert shopify.orders[f"gid://shopify/Order/{ORDER}"]["fulfillment_orders"][0]["status"] == "IN_PROGRESS"
    # A second round writes nothing twice.
    assert sync(connector).fulfillments == 0 and len(shopify.fulfillments) == 1

    _vendor(
        vendor,
        lines["NANO-8GB"],
        "shipments",
        {
            "carrier": "FedEx",
            "tracking_number": "7777",
            "lines": [{"line_id": lines["NANO-8GB"]["id"], "quantity": 1}],
        },
    )
    _vendor(vendor, lines["FIX-GREEN-2008"], "cancel", {"reason": "water damage", "reason_code": "other"})
    report = sync(connector)
    assert (report.fulfillments, report.notes) == (1, 1)
    assert shopify.fulfillments[1]["trackingInfo"]["number"] == "7777"
    note = shopify.orders[f"gid://shopify/Order/{ORDER}"]["note"]
    assert "vendor cancelled 1 × FIX-GREEN-2008: water damage" in note
    health = retailer.api.get(f"/api/v1/connectors/{connector['id']}").get_json()["health"]
    assert health["last_success_at"] and health["last_error"] is None and health["backlog"] == 0


def test_shopify_429_is_waited_out_and_the_store_ends_exact(network, session, shopify, local_stores):
    retailer, vendor = network.retailer, network.vendor
    variant = make_variant(session, vendor)
    make_item(session, retailer, [variant], sku="LAMP")
    shopify.add_variant("LAMP", 7)
    connector = connect_store(retailer, shop_url=shopify.url, location_id="gid://shopify/Location/1")
    set_stock(session, vendor, variant, 3)
    set_stock(session, vendor, variant, 12)
    shopify.force_429 = 2
    waits = Waits()
    report = sync(connector, waits)
    assert report.error is None and report.refused_for_rate == 2
    assert waits[:2] == [1.0, 1.0]  # Retry-After honoured
    assert shopify.available_of("LAMP") == 12  # the newest figure only, once
    assert shopify.set_calls == [[("gid://shopify/InventoryItem/7", 12)]]


def test_store_refusals_are_recorded_as_the_connector_s_last_error(network, session, shopify, local_stores):
    variant = make_variant(session, network.vendor)
    make_item(session, network.retailer, [variant], sku="LAMP")
    shopify.add_variant("LAMP", 7)
    connector = connect_store(network.retailer, shop_url=shopify.url, location_id="gid://shopify/Location/1")
    shopify.token = "rotated"
    set_stock(session, network.vendor, variant, 3)
    report = sync(connector)
    assert "access token" in report.error
    health = network.retailer.api.get(f"/api/v1/connectors/{connector['id']}").get_json()["health"]
    assert "access token" in health["last_error"] and health["backlog"] >= 1
    shopify.token = "shpat_test_token"
    assert sync(connector).error is None and shopify.available_of("LAMP") == 3


def test_woocommerce_shipment_and_stock_reach_the_store(network, session, client, woo, local_stores):
    retailer, vendor = network.retailer, network.vendor
    single, black = make_variant(session, vendor), make_variant(session, vendor)
    set_stock(session, vendor, single, 10)
    set_stock(session, vendor, black, 5)
    make_item(session, retailer, [single], sku="WOO-SINGLE")
    make_item(session, retailer, [black], sku="FIX-WOO-BLK")
    woo.products = {
        93: {"id": 93, "sku": "WOO-SINGLE", "parent_id": 0, "stock_quantity": 0},
        23: {"id": 23, "sku": "FIX-WOO-BLK", "parent_id": 22, "stock_quantity": 0},
    }
    woo.orders = {9727: {"id": 9727, "status": "processing", "meta_data": [], "notes": []}}
    connector = connect_store(retailer, "woocommerce", shop_url=woo.url)
    map_listing(session, connector["id"], "WOO-SINGLE", "93")
    order_id = deliver(
        client, connector, "order.created", fixture("woocommerce/order_created_empty_sku.json")
    ).get_json()["order_id"]

    woo.force_429 = 1  # WooCommerce behind a rate-limiting host: Retry-After honoured
    waits = Waits()
    report = sync(connector, waits)
    assert report.error is None and report.refused_for_rate == 1 and waits == [1.0]
    assert (woo.products[93]["stock_quantity"], woo.products[23]["stock_quantity"]) == (8, 4)

    lines = _po_lines(retailer, order_id)
    for sku in ("WOO-SINGLE", "FIX-WOO-BLK"):
        _vendor(vendor, lines[sku], "acknowledge", {})
    _vendor(
        vendor,
        lines["WOO-SINGLE"],
        "shipments",
        {
            "carrier": "USPS",
            "tracking_number": "9400",
            "lines": [{"line_id": lines["WOO-SINGLE"]["id"], "quantity": 2}],
        },
    )
    assert sync(connector).fulfillments == 1
    order = woo.orders[9727]
    assert order["status"] == "processing"  # partly shipped: not completed yet
    (tracking,) = [m["value"] for m in order["meta_data"] if m["key"] == "_wc_shipment_tracking_items"]
    assert tracking[0]["tracking_number"] == "9400" and tracking[0]["tracking_provider"] == "USPS"
    assert order["notes"][0]["customer_note"] is True

    _vendor(
        vendor,
        lines["FIX-WOO-BLK"],
        "shipments",
        {
            "carrier": "DHL",
            "tracking_number": "JD1",
            "lines": [{"line_id": lines["FIX-WOO-BLK"]["id"], "quantity": 1}],
        },
    )
    assert sync(connector).fulfillments == 1
    assert woo.orders[9727]["status"] == "completed"


def test_drift_lists_store_figures_changed_behind_the_hub_and_the_job_repairs_them(
    network, session, shopify, local_stores
):
    from network.connectors.sync import repair_drift

    retailer, vendor = network.retailer, network.vendor
    lamp, desk = make_variant(session, vendor), make_variant(session, vendor)
    make_item(session, retailer, [lamp], sku="LAMP")
    make_item(session, retailer, [desk], sku="DESK")
    shopify.add_variant("LAMP", 7)
    shopify.add_variant("DESK", 8)
    connector = connect_store(retailer, shop_url=shopify.url, location_id="1")
    set_stock(session, vendor, lamp, 5)
    set_stock(session, vendor, desk, 3)
    sync(connector)
    url = f"/api/v1/connectors/{connector['id']}/drift"
    assert retailer.api.get(url).get_json()["data"] == []

    shopify.levels["gid://shopify/InventoryItem/7"] = 40  # the merchant typed a figure in the admin
    assert retailer.api.get(url).get_json()["data"] == [
        {"retailer_sku": "LAMP", "platform": 40, "published": 5, "expected": 5}
    ]
    assert network.retailers[1].api.get(url).status_code == 404

    clients = Clients(Credentials("test-secret"), transport=lambda: Transport(sleep=Waits()))
    assert repair_drift(db.session, clients, now=utcnow()) == {connector["id"]: 1}
    assert shopify.available_of("LAMP") == 5
    assert retailer.api.get(url).get_json()["data"] == []

    shopify.token = "revoked"
    refused = retailer.api.get(url)
    assert refused.status_code == 502 and refused.mimetype == "application/problem+json"


def _node(
    order_id: str, updated: str, lines: list[tuple[str, str, int]], cancelled: str | None = None
) -> dict:
    return {
        "legacyResourceId": order_id,
        "name": f"#{order_id}",
        "updatedAt": updated,
        "cancelledAt": cancelled,
        "shippingAddress": {
            "name": "Ada",
            "address1": "1 Main St",
            "city": "Ghent",
            "zip": "9000",
            "countryCodeV2": "BE",
        },
        "lineItems": {
            "nodes": [
                {"id": f"gid://shopify/LineItem/{i}", "sku": sku, "name": sku, "quantity": q, "variant": None}
                for i, sku, q in lines
            ]
        },
    }


def test_polling_takes_in_orders_whose_webhook_never_came_once(
    network, session, client, shopify, local_stores
):
    from network.connectors.models import Connector
    from network.connectors.sync import poll_orders

    retailer, vendor = network.retailer, network.vendor
    lamp = make_variant(session, vendor)
    set_stock(session, vendor, lamp, 10)
    make_item(session, retailer, [lamp], sku="LAMP")
    connector = connect_store(retailer, shop_url=shopify.url, location_id="1")
    shopify.page_size = 1  # two pages
    shopify.order_nodes = [
        _node("5001", "2099-01-01T10:00:00Z", [("11", "LAMP", 2)]),
        _node("5002", "2099-01-01T10:05:00Z", [("12", "UNKNOWN", 1)]),
    ]
    clients = Clients(Credentials("test-secret"), transport=lambda: Transport(sleep=Waits()))
    assert poll_orders(db.session, clients, connector["id"], now=utcnow()) == 2
    orders = retailer.api.get("/api/v1/orders").get_json()["data"]
    assert [(o["reference"], o["lines"][0]["accepted"]) for o in orders] == [("shopify:#5001", 2)]
    assert session.get(Connector, connector["id"]).orders_cursor == "2099-01-01T10:05:00Z"

    # The same order later cancelled on the store, and the webhook the store retried: nothing twice.
    shopify.order_nodes.append(
        _node("5001", "2099-01-01T11:00:00Z", [("11", "LAMP", 2)], cancelled="2099-01-01T11:00:00Z")
    )
    assert poll_orders(db.session, clients, connector["id"], now=utcnow()) == 1
    order = retailer.api.get(f"/api/v1/orders/{orders[0]['id']}").get_json()
    assert order["lines"][0]["cancelled"] == 2
    assert poll_orders(db.session, clients, connector["id"], now=utcnow()) == 0
    assert len(retailer.api.get("/api/v1/orders").get_json()["data"]) == 1


def test_polling_reads_woocommerce_pages(network, session, woo, local_stores):
    import json

    from network.connectors.sync import poll_orders

    retailer, vendor = network.retailer, network.vendor
    black = make_variant(session, vendor)
    set_stock(session, vendor, black, 10)
    make_item(session, retailer, [black], sku="FIX-WOO-BLK")
    base = json.loads(fixture("woocommerce/order_created_empty_sku.json"))
    for n in range(150):  # two pages of 100
        woo.orders[n + 1] = {
            **base,
            "id": n + 1,
            "number": str(n + 1),
            "date_modified_gmt": f"2099-01-01T10:{n // 60:02d}:{n % 60:02d}",
        }
    connector = connect_store(retailer, "woocommerce", shop_url=woo.url)
    clients = Clients(Credentials("test-secret"), transport=lambda: Transport(sleep=Waits()))
    assert poll_orders(db.session, clients, connector["id"], now=utcnow()) == 150
    # The stock ran out after 10: the other orders are kept (their customers paid), flagged.
    orders = retailer.api.get("/api/v1/orders?limit=1000").get_json()["data"]
    assert len(orders) == 150
    assert sum(order["status"] == "accepted" for order in orders) == 10
    flags = retailer.api.get("/api/v1/flags?status=open&limit=1000").get_json()["data"]
    assert len(flags) == 140 and {flag["kind"] for flag in flags} == {"unfillable"}
    assert poll_orders(db.session, clients, connector["id"], now=utcnow()) == 0


def test_graphql_orders_listing_of_a_real_store_is_read(network, session):
    """The real `orders` query answer of an EU store: every node reads as an order (no lines were
    asked for in that query, so none is placed), and its throttle status is understood."""
    import json

    from network.connectors import shopify as shopify_module
    from network.connectors.shopify_client import ShopifyClient
    from tests.samples import sample

    body = json.loads(sample("shopify/graphql_orders_query_response_real_eu_store.json"))
    orders = [shopify_module.parse_graphql_order(edge["node"]) for edge in body["data"]["orders"]["edges"]]
    assert [(o.platform_order_id, o.name, o.lines) for o in orders][-1] == ("4670269816904", "WEB1349", ())
    client = ShopifyClient("https://x.myshopify.com", "t", Transport(sleep=Waits()))
    client._note_cost("query", body)
    assert client._bucket[:2] == (986.0, 50.0)


def test_shopify_cost_throttle_is_waited_for_instead_of_refused(shopify):
    """A bucket of 100 points refilled at 200/s and 50-point calls: from the second call on, the
    client waits for the points the store's throttleStatus says are missing, and is never refused."""
    from network.connectors.shopify_client import ShopifyClient

    shopify.bucket_max, shopify.restore_rate, shopify.query_cost = 100.0, 200.0, 50.0
    shopify._available = 100.0
    shopify.add_variant("LAMP", 7)
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        time.sleep(seconds)

    client = ShopifyClient(shopify.url, "shpat_test_token", Transport(sleep=sleep))
    for _ in range(8):
        client.set_available("1", [("gid://shopify/InventoryItem/7", 3)])
    assert shopify.throttled == 0 and shopify.refused_429 == 0
    assert waited and sum(waited) > 0.5  # 400 points past the bucket, at 200 points/s


def test_credentials_sealed_under_another_secret_key_fail_safely(
    network, session, client, shopify, local_stores, app
):
    """After a SECRET_KEY change nothing can verify a webhook (401, nothing taken) and the sync
    records why instead of failing every connector's round."""
    variant = make_variant(session, network.vendor)
    make_item(session, network.retailer, [variant], sku="LAMP")
    connector = connect_store(network.retailer, shop_url=shopify.url, location_id="1")
    app.config["SECRET_KEY"] = "another-secret"
    answer = deliver(
        client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json")
    )
    assert answer.status_code == 401
    clients = Clients(Credentials("another-secret"), transport=lambda: Transport(sleep=Waits()))
    report = sync_connector(db.session, clients, connector["id"], now=utcnow())
    assert "SECRET_KEY" in report.error
    app.config["SECRET_KEY"] = "test-secret"
    health = network.retailer.api.get(f"/api/v1/connectors/{connector['id']}").get_json()["health"]
    assert "SECRET_KEY" in health["last_error"]


def test_woocommerce_stock_goes_in_batches_the_store_accepts(network, session, woo, local_stores):
    """WooCommerce refuses a batch of more than 100 objects (413): 150 figures go as 100 + 50."""
    from network.connectors.woocommerce_client import WooClient

    woo.products = {n: {"id": n, "sku": f"S{n}", "parent_id": 0, "stock_quantity": 0} for n in range(1, 151)}
    client = WooClient(woo.url, "ck_test", "cs_test", Transport(sleep=Waits()))
    client.set_stock([(str(n), None, n % 7) for n in range(1, 151)])
    assert [len(b) for b in woo.batches] == [100, 50]
    assert all(p["stock_quantity"] == p["id"] % 7 for p in woo.products.values())
    # The store refuses what the real one would: an unknown product is an error, not a silent skip.
    with pytest.raises(StoreError, match="refused the stock"):
        client.set_stock([("999", None, 1)])
    with pytest.raises(StoreError, match="consumer key"):
        WooClient(woo.url, "ck_test", "wrong", Transport(sleep=Waits())).set_stock([("1", None, 1)])


def test_a_vendor_cancellation_reaches_the_woocommerce_merchant_as_a_private_note_and_a_flag(
    network, session, client, woo, local_stores
):
    retailer, vendor = network.retailer, network.vendor
    single, black = make_variant(session, vendor), make_variant(session, vendor)
    set_stock(session, vendor, single, 10)
    set_stock(session, vendor, black, 5)
    make_item(session, retailer, [single], sku="WOO-SINGLE")
    make_item(session, retailer, [black], sku="FIX-WOO-BLK")
    woo.orders = {9727: {"id": 9727, "status": "processing", "meta_data": [], "notes": []}}
    connector = connect_store(retailer, "woocommerce", shop_url=woo.url)
    map_listing(session, connector["id"], "WOO-SINGLE", "93")
    order_id = deliver(
        client, connector, "order.created", fixture("woocommerce/order_created_empty_sku.json")
    ).get_json()["order_id"]
    lines = _po_lines(retailer, order_id)
    _vendor(vendor, lines["FIX-WOO-BLK"], "acknowledge", {})
    _vendor(
        vendor,
        lines["FIX-WOO-BLK"],
        "cancel",
        {
            "lines": [{"line_id": lines["FIX-WOO-BLK"]["id"], "quantity": 1}],
            "reason": "crushed in the warehouse",
        },
    )

    report = sync(connector)
    assert report.error is None and report.notes == 1
    (note,) = woo.orders[9727]["notes"]
    assert note == {
        "note": "Dropnet: the vendor cancelled 1 × FIX-WOO-BLK: crushed in the warehouse",
        "customer_note": False,  # for the merchant, not an email to the customer
    }
    flags = retailer.api.get(f"/api/v1/flags?order_id={order_id}").get_json()["data"]
    assert [(f["kind"], f["detail"]["reason"]) for f in flags] == [
        ("vendor_cancelled", "crushed in the warehouse")
    ]
    # Written once: the next round adds nothing.
    assert sync(connector).notes == 0 and len(woo.orders[9727]["notes"]) == 1


def test_units_a_vendor_refuses_before_accepting_reach_the_shopify_merchant_too(
    network, session, client, shopify, local_stores
):
    retailer, vendor = network.retailer, network.vendor
    nano, green = make_variant(session, vendor), make_variant(session, vendor)
    set_stock(session, vendor, nano, 10)
    set_stock(session, vendor, green, 4)
    make_item(session, retailer, [nano], sku="NANO-8GB")
    make_item(session, retailer, [green], sku="FIX-GREEN-2008")
    shopify.add_order(ORDER, {NANO_LINE: 2, GREEN_LINE: 1})
    connector = connect_store(retailer, shop_url=shopify.url, location_id="1")
    map_listing(session, connector["id"], "NANO-8GB", "808950810")
    order_id = deliver(
        client, connector, "orders/create", fixture("shopify/orders_create_empty_sku_draft.json")
    ).get_json()["order_id"]
    lines = _po_lines(retailer, order_id)
    _vendor(
        vendor,
        lines["NANO-8GB"],
        "reject",
        {"lines": [{"line_id": lines["NANO-8GB"]["id"], "quantity": 2}], "reason": "discontinued"},
    )

    assert sync(connector).notes == 1
    note = shopify.orders[f"gid://shopify/Order/{ORDER}"]["note"]
    assert "Dropnet: the vendor refused 2 × NANO-8GB: discontinued" in note
    flags = retailer.api.get(f"/api/v1/flags?order_id={order_id}").get_json()["data"]
    assert [f["kind"] for f in flags] == ["vendor_rejected"]
