"""Storefront connector against a throttled Shopify-shaped store: 10,000 availability changes.

    .venv/bin/python bench/connector_shopify.py [--skus 500] [--rounds 20] [--orders 200]

In process, on a scratch SQLite database: one retailer sells `--skus` items of one vendor through
a Shopify connector pointed at the local fake store of the tests (tests/connectors/fake_stores.py:
a GraphQL cost bucket of 1,000 points refilled at 500 points/s, 50 points per call). The vendor
pushes `--rounds` full counts of every SKU (skus × rounds availability changes); after each push
the connector's sync runs once, as the worker's job would every 15 s. Reported: requests sent,
requests refused for rate (THROTTLED or 429) after the first, whether the store matches the hub at
the end and how long after the last push it took. Then `--orders` store order webhooks next to
as many bare `POST /api/v1/orders`, each a 1-line order: latency p50/p99 of each.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from network.app import create_app  # noqa: E402
from network.availability.services import read_availability  # noqa: E402
from network.clock import utcnow  # noqa: E402
from network.connectors.http import Transport  # noqa: E402
from network.connectors.sync import Clients, sync_connector  # noqa: E402
from network.extensions import db  # noqa: E402
from network.feeds.credentials import Credentials  # noqa: E402
from tests import builders  # noqa: E402
from tests.connectors.fake_stores import FakeShopify  # noqa: E402
from tests.connectors.helpers import connect_store, deliver  # noqa: E402
from tests.order_helpers import SHIP_TO  # noqa: E402

SECRET = "bench-secret"
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake store logs every request otherwise


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SECRET_KEY": SECRET,
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'hub.sqlite3'}",
                "HUB_CONNECTOR_ALLOW_HTTP_HOSTS": "127.0.0.1",
                "HUB_DEMO_SEED": False,
            }
        )
        with app.app_context():
            db.create_all()
            client = app.test_client()
            net = builders.make_network(db.session, client, retailers=1, vendors=1)
            retailer, vendor = net.retailer, net.vendor
            store = FakeShopify(bucket_max=1000, restore_rate=500, query_cost=50)
            url = store.start()
            skus = [f"SKU-{n:05d}" for n in range(args.skus)]
            for n, sku in enumerate(skus):
                variant = builders.make_variant(db.session, vendor, sku=f"V-{sku}")
                builders.make_item(db.session, retailer, [variant], sku=sku)
                store.add_variant(sku, n + 1, available=0)
            connector = connect_store(retailer, shop_url=url, location_id="1")
            clients = Clients(Credentials(SECRET), transport=Transport)

            def sync_once() -> None:
                report = sync_connector(db.session, clients, connector["id"], now=utcnow())
                assert report.error is None, report.error

            changes = 0
            for _ in range(args.rounds):
                rows = [{"sku": f"V-{sku}", "quantity": rng.randint(0, 60)} for sku in skus]
                response = builders.push_json(vendor, rows, mode="full")
                assert response.status_code in (200, 202), response.get_data(as_text=True)
                changes += len(rows)
                sync_once()
            last_push = time.perf_counter()
            rounds_after = 0
            while not _matches(store, retailer.id, skus):
                sync_once()
                rounds_after += 1
            matched = time.perf_counter() - last_push
            refused_after_first = max(0, store.throttled + store.refused_429 - 1)
            print(f"availability changes pushed: {changes:,} over {args.skus} SKUs in {args.rounds} pushes")
            print(
                f"store requests: {store.requests:,}; figures set: {sum(len(c) for c in store.set_calls):,}"
            )
            print(
                f"refused for rate: THROTTLED {store.throttled}, 429 {store.refused_429} (after the first: {refused_after_first})"
            )
            print(
                f"store exact at the end: {_matches(store, retailer.id, skus)}; {matched * 1000:.0f} ms and {rounds_after} extra rounds after the last push"
            )
            _latency(client, retailer, connector, skus, args.orders)
            store.stop()


def _matches(store: FakeShopify, retailer_id: int, skus: list[str]) -> bool:
    figures = read_availability(
        db.session, retailer_id=retailer_id, skus=skus, after_id=0, limit=len(skus), now=utcnow()
    )
    db.session.rollback()
    return all(store.available_of(a.retailer_sku) == a.available for a in figures)


def _latency(client, retailer, connector, skus: list[str], orders: int) -> None:
    import json

    hook, bare = [], []
    for n in range(orders):
        sku = skus[n % len(skus)]
        body = json.dumps(
            {
                "id": 9_000_000 + n,
                "name": f"#B{n}",
                "shipping_address": {
                    "name": "Ada",
                    "address1": "1 Main St",
                    "city": "X",
                    "zip": "1",
                    "country_code": "US",
                },
                "line_items": [{"id": n, "sku": sku, "variant_id": n, "quantity": 1}],
            }
        ).encode()
        started = time.perf_counter()
        answer = deliver(client, connector, "orders/create", body)
        hook.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        started = time.perf_counter()
        answer = retailer.api.post(
            "/api/v1/orders",
            json={"reference": f"B{n}", "lines": [{"retailer_sku": sku, "quantity": 1}], "ship_to": SHIP_TO},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        bare.append(time.perf_counter() - started)
        assert answer.status_code in (201, 409), answer.get_data(as_text=True)
    for name, values in (("store webhook -> hub order", hook), ("bare POST /api/v1/orders", bare)):
        cuts = statistics.quantiles(values, n=100)
        print(f"{name}: p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms ({len(values)} orders)")


if __name__ == "__main__":
    main()
