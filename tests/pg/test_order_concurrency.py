"""Concurrent orders on PostgreSQL through the HTTP API never promise a unit twice, and the books balance.

Threads each drive the WSGI app with their own test client, token and database connection, lined
up with a barrier; hot items' stock is shared by two retailers.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from network.catalog.models import VendorVariant
from network.extensions import db
from network.orders.models import Order, PurchaseOrderLine
from network.outbox.models import Event
from network.stock.models import StockPosition
from tests.builders import Api, Party, availability, issue_token, make_network
from tests.domain.test_inflight_stateful import brute_force_committed
from tests.order_helpers import SHIP_TO, live_units, stocked_item

pytestmark = pytest.mark.postgres

THREADS = 32
MAX_REQUESTS_PER_THREAD = 400


def _party_api(app, party: Party) -> Api:
    """A new client and token for one thread: its own requests, its own connection."""
    client = app.test_client()
    return Api(client, issue_token(client, party.client_id, party.secret))


def _order(api: Api, sku: str, quantity: int):
    body = {"reference": "storm", "lines": [{"retailer_sku": sku, "quantity": quantity}], "ship_to": SHIP_TO}
    return api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})


def _hot_items(session, net, stock: list[int]) -> tuple[list[int], list[str]]:
    variants, skus = [], []
    for quantity in stock:
        variant, sku = stocked_item(session, net.vendor, net.retailers, quantity)
        variants.append(variant)
        skus.append(sku)
    return variants, skus


def _buyer(
    api: Api, skus: list[str], results: list, barrier: threading.Barrier, quiet: threading.Event, seed: int
):
    """Order 1 or 2 units of random hot items until each refuses a single unit after the storm is quiet."""
    rng = random.Random(seed)
    exhausted: set[str] = set()
    saw_quiet = False
    barrier.wait()
    for _ in range(MAX_REQUESTS_PER_THREAD):
        if quiet.is_set() and not saw_quiet:
            saw_quiet, exhausted = True, set()  # refusals before the quiet may have been undone since
        open_skus = [sku for sku in skus if sku not in exhausted]
        if not open_skus:
            if saw_quiet:
                return
            quiet.wait(0.05)
            continue
        sku = rng.choice(open_skus)
        quantity = 1 if sku in exhausted or rng.random() < 0.7 else 2
        response = _order(api, sku, quantity)
        if response.status_code == 201:
            order = response.get_json()
            results.append(("accepted", order["id"], sku, order["lines"][0]["accepted"]))
        else:
            assert response.status_code == 409, response.get_data(as_text=True)
            assert response.get_json()["lines"][0]["requested"] == quantity
            if quantity == 1:
                exhausted.add(sku)
    raise AssertionError("a buyer never saw its items run out")


def _run(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
        assert not thread.is_alive(), "a thread hung"


class _Errors(list):
    def wrap(self, target, *args):
        def run():
            try:
                target(*args)
            except BaseException as exc:  # reported by the main thread
                self.append(exc)

        return threading.Thread(target=run)


def test_concurrent_orders_on_hot_items_sell_every_unit_exactly_once(pg_app):
    session, client = db.session, pg_app.test_client()
    net = make_network(session, client, retailers=2, vendors=1)
    stock = [13, 8, 21]
    variants, skus = _hot_items(session, net, stock)
    results: list = []
    errors = _Errors()
    barrier = threading.Barrier(THREADS)
    quiet = threading.Event()
    quiet.set()  # nothing but orders in this storm
    apis = [_party_api(pg_app, net.retailers[i % 2]) for i in range(THREADS)]
    _run([errors.wrap(_buyer, apis[i], skus, results, barrier, quiet, i) for i in range(THREADS)])
    assert not errors, errors[0]

    accepted = Counter()
    for _, _, sku, units in results:
        accepted[sku] += units
    session.expire_all()
    for variant, sku, initial in zip(variants, skus, stock, strict=True):
        assert accepted[sku] == initial  # the books balance: every unit sold, none twice
        position = session.get(StockPosition, variant)
        assert position.committed == initial == live_units(session, variant)
        for retailer in net.retailers:
            assert availability(retailer, sku)["available"] == 0
    orders = session.scalar(sa.select(sa.func.count()).select_from(Order))
    assert orders == len(results)
    assert session.scalar(sa.select(sa.func.count()).where(Event.type == "order.accepted")) == orders


def test_cancels_and_new_feeds_during_the_storm_keep_the_books_exact(pg_app):
    session, client = db.session, pg_app.test_client()
    net = make_network(session, client, retailers=2, vendors=1)
    stock = [10, 6]
    variants, skus = _hot_items(session, net, stock)
    vendor_skus = [session.get(VendorVariant, v).vendor_sku for v in variants]
    results: list = []
    errors = _Errors()
    side_threads = 4  # two cancel, two restock
    buyers = THREADS - side_threads
    barrier = threading.Barrier(THREADS)
    quiet = threading.Event()
    done = Counter()
    lock = threading.Lock()
    restocked = {sku: q for sku, q in zip(vendor_skus, stock, strict=True)}

    def side_finished():
        with lock:
            done["side"] += 1
            if done["side"] == side_threads:
                quiet.set()

    def canceller(api: Api, retailer_index: int, seed: int):
        rng = random.Random(seed)
        barrier.wait()
        try:
            # 25 cancels, counted from the first order there is to cancel: on a loaded machine the
            # first orders can take longer than any fixed number of polls.
            attempts, deadline = 0, time.monotonic() + 60
            while attempts < 25 and time.monotonic() < deadline:
                mine = [r for r in list(results) if r[0] == "accepted" and r[4] == retailer_index]
                if not mine:
                    time.sleep(0.01)
                    continue
                attempts += 1
                order_id = rng.choice(mine)[1]
                response = api.post(f"/api/v1/orders/{order_id}/cancel", json={})
                assert response.status_code in (200, 409), response.get_data(as_text=True)
        finally:
            side_finished()

    def restocker(api: Api, which: int):
        barrier.wait()
        try:
            for step in range(1, 9):
                with lock:
                    restocked[vendor_skus[which]] += 3
                    rows = [{"sku": vendor_skus[which], "quantity": restocked[vendor_skus[which]]}]
                    # The lock orders the pushes as their counts grow; a feed is one short transaction.
                    response = api.post("/vendor-api/v1/inventory", json={"mode": "delta", "rows": rows})
                assert response.status_code == 200 and response.get_json()["status"] == "applied", step
                quiet.wait(0.02)
        finally:
            side_finished()

    # Cancellers need orders to cancel while the storm runs: buyers publish as they go.
    def live_buyer(api, retailer_index, seed):
        rng_results = _Appender(results, retailer_index)
        _buyer(api, skus, rng_results, barrier, quiet, seed)

    threads = [
        errors.wrap(live_buyer, _party_api(pg_app, net.retailers[i % 2]), i % 2, i) for i in range(buyers)
    ]
    threads += [errors.wrap(canceller, _party_api(pg_app, net.retailers[i]), i, 100 + i) for i in range(2)]
    threads += [errors.wrap(restocker, _party_api(pg_app, net.vendor), i) for i in range(2)]
    _run(threads)
    assert not errors, errors[0]

    session.expire_all()
    for variant, sku, vendor_sku in zip(variants, skus, vendor_skus, strict=True):
        position = session.get(StockPosition, variant)
        live = live_units(session, variant)
        assert position.quantity == restocked[vendor_sku]
        assert position.committed == live == brute_force_committed(session, variant)
        assert live == position.quantity  # every unit promised once: none left, none twice
        for retailer in net.retailers:
            assert availability(retailer, sku)["available"] == 0
    cancelled = session.scalar(sa.select(sa.func.sum(PurchaseOrderLine.cancelled)))
    assert cancelled > 0, "the storm should have seen cancellations"


class _Appender:
    """A list-like sink that tags each result with its retailer, visible to other threads at once."""

    def __init__(self, sink: list, retailer_index: int) -> None:
        self.sink = sink
        self.retailer_index = retailer_index

    def append(self, item) -> None:
        self.sink.append((*item, self.retailer_index))


def test_concurrent_repeats_of_one_idempotency_key_create_one_order(pg_app):
    session, client = db.session, pg_app.test_client()
    net = make_network(session, client, retailers=1, vendors=1)
    variant, sku = stocked_item(session, net.vendor, net.retailers, 50)
    key = uuid.uuid4().hex
    body = {"reference": "once", "lines": [{"retailer_sku": sku, "quantity": 3}], "ship_to": SHIP_TO}
    barrier = threading.Barrier(16)
    answers: list = []
    errors = _Errors()

    def repeat(api: Api):
        barrier.wait()
        response = api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})
        answers.append((response.status_code, response.get_json()))

    _run([errors.wrap(repeat, _party_api(pg_app, net.retailer)) for _ in range(16)])
    assert not errors, errors[0]
    assert {status for status, _ in answers} == {201}
    assert len({body["id"] for _, body in answers}) == 1
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
    assert session.get(StockPosition, variant).committed == 3
