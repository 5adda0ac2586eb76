"""DATABASE_REPLICA_URL against a real streaming replica: which database answers availability and
the change feeds, and that the answer is never older than the bound or the caller's own write."""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from network.extensions import db
from tests.builders import availability, make_network, push_json
from tests.order_helpers import SHIP_TO, place, stocked_item
from tests.processes import gunicorn
from tests.replica.cluster import Replica

pytestmark = pytest.mark.postgres

GENEROUS_MS = 600_000  # a bound no test reaches: only the caller's own writes keep it off the replica


def routed(client) -> dict[tuple[str, str], float]:
    """/metrics' routed-read counters by (database that answered, why not the replica); `client`
    is a Flask test client or the base URL of a hub process."""
    if isinstance(client, str):
        text = requests.get(f"{client}/metrics", timeout=30).text
    else:
        text = client.get("/metrics").get_data(as_text=True)
    return {
        (sample.labels["target"], sample.labels["reason"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "dropnet_routed_reads"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def grew(before: dict, after: dict) -> set[tuple[str, str]]:
    return {key for key, value in after.items() if value > before.get(key, 0)}


def changes(party, cursor: str | None = None) -> dict:
    response = party.api.get("/api/v1/availability/changes" + (f"?cursor={cursor}" if cursor else ""))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def world(app, quantity: int = 7):
    """A vendor whose one variant is sold by two retailers, `quantity` units pushed."""
    client = app.test_client()
    net = make_network(db.session, client, retailers=2, vendors=1)
    variant, sku = stocked_item(db.session, net.vendor, net.retailers, quantity, sku="CHAIR")
    return client, net, sku


def test_a_caught_up_replica_answers_availability_and_the_change_feed(make_replica_app, replica: Replica):
    app = make_replica_app(HUB_REPLICA_MAX_LAG_MS=GENEROUS_MS, HUB_REPLICA_CHECK_MS=0)
    with app.app_context():
        client, net, sku = world(app)
        retailer = net.retailers[1]  # wrote nothing itself: nothing but the lag bound applies
        replica.wait_caught_up()
        assert replica.sql("SELECT pg_is_in_recovery()") is True

        before = routed(client)
        assert availability(retailer, sku)["available"] == 7
        feed = changes(retailer)
        assert [c["available"] for c in feed["data"]] == [0, 7]  # the item's creation, the push
        # The other routed reads run on the replica too (a statement that wrote would fail there
        # and count as replica_error).
        explained = retailer.api.get(f"/api/v1/availability/{sku}/explain")
        assert explained.status_code == 200 and explained.get_json()["available"] == 7
        ledger = retailer.api.get(f"/api/v1/ledger?retailer_sku={sku}")
        assert [e["after"]["quantity"] for e in ledger.get_json()["data"]] == [7]
        assert retailer.api.get("/api/v1/events").status_code == 200
        assert net.vendor.api.get("/vendor-api/v1/events").status_code == 200
        assert grew(before, routed(client)) == {("replica", "")}
        assert routed(client)[("replica", "")] - before.get(("replica", ""), 0) == 6

        # The replica really answers: paused, it keeps showing the count from before the vendor's
        # new push (allowed: the bound here is ten minutes), and no new change in the feed.
        replica.pause()
        push_json(net.vendor, [{"sku": "CHAIR", "quantity": 3}], mode="delta")
        assert availability(retailer, sku)["available"] == 7
        assert changes(retailer, feed["next_cursor"])["data"] == []

        replica.resume()
        replica.wait_caught_up()
        assert availability(retailer, sku)["available"] == 3
        assert [c["available"] for c in changes(retailer, feed["next_cursor"])["data"]] == [3]
        assert grew(before, routed(client)) == {("replica", "")}


def test_a_replica_behind_the_bound_sends_reads_to_the_primary(make_replica_app, replica: Replica):
    app = make_replica_app(HUB_REPLICA_CHECK_MS=0)  # the default bound, 500 ms
    assert app.config["HUB_REPLICA_MAX_LAG_MS"] == 500
    with app.app_context():
        client, net, sku = world(app)
        retailer = net.retailers[1]
        replica.wait_caught_up()
        replica.pause()
        push_json(net.vendor, [{"sku": "CHAIR", "quantity": 2}], mode="delta")
        # Everything the paused replica shows is at least this old now.
        time.sleep(0.6)

        before = routed(client)
        assert availability(retailer, sku)["available"] == 2
        assert [c["available"] for c in changes(retailer)["data"]] == [0, 7, 2]
        response = net.vendor.api.get("/vendor-api/v1/ledger?sku=CHAIR")
        assert [e["after"]["quantity"] for e in response.get_json()["data"]] == [7, 2]
        assert grew(before, routed(client)) == {("primary", "lag")}


def test_a_replica_that_is_down_never_fails_a_read(make_replica_app, replica: Replica):
    app = make_replica_app(HUB_REPLICA_MAX_LAG_MS=GENEROUS_MS, HUB_REPLICA_CHECK_MS=0)
    with app.app_context():
        client, net, sku = world(app)
        retailer = net.retailers[1]
        replica.wait_caught_up()
        assert availability(retailer, sku)["available"] == 7  # the pool now holds a replica connection

        replica.stop()
        push_json(net.vendor, [{"sku": "CHAIR", "quantity": 4}], mode="delta")
        before = routed(client)
        assert availability(retailer, sku)["available"] == 4
        assert [c["available"] for c in changes(retailer)["data"]] == [0, 7, 4]
        assert retailer.api.get("/api/v1/events").status_code == 200
        assert grew(before, routed(client)) <= {("primary", "down"), ("primary", "replica_error")}
        assert grew(before, routed(client))

        # Back up: reads return to it once it has caught up.
        replica.start()
        replica.wait_caught_up()
        time.sleep(1.1)  # the router leaves a failed replica alone for a second
        before = routed(client)
        assert availability(retailer, sku)["available"] == 4
        assert grew(before, routed(client)) == {("replica", "")}


def test_a_replica_url_where_nothing_listens_reads_from_the_primary(make_replica_app, replica: Replica):
    with replica.admin.connect() as conn:
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
    app = make_replica_app(replica_url=f"postgresql+psycopg://postgres@127.0.0.1:1/{database}")
    with app.app_context():
        client, net, sku = world(app, quantity=5)
        before = routed(client)
        assert availability(net.retailers[1], sku)["available"] == 5
        assert grew(before, routed(client)) == {("primary", "down")}


def test_a_writer_reads_its_own_writes_while_the_replica_is_paused(make_replica_app, replica: Replica):
    app = make_replica_app(HUB_REPLICA_MAX_LAG_MS=GENEROUS_MS, HUB_REPLICA_CHECK_MS=0)
    with app.app_context():
        client, net, sku = world(app)
        buyer, bystander = net.retailers
        replica.wait_caught_up()
        replica.pause()

        # The vendor's push, then its own ledger: the new entry is there at once.
        assert push_json(net.vendor, [{"sku": "CHAIR", "quantity": 10}], mode="delta").status_code == 200
        response = net.vendor.api.get("/vendor-api/v1/ledger?sku=CHAIR")
        assert [e["after"]["quantity"] for e in response.get_json()["data"]] == [7, 10]

        # A retailer's order, then its availability: the ordered units are gone at once.
        before = routed(client)
        assert place(buyer, [(sku, 2)]).status_code == 201
        assert availability(buyer, sku)["available"] == 10 - 2
        assert grew(before, routed(client)) == {("primary", "own_write")}

        # A retailer that wrote nothing is still served by the (paused) replica, as the bound allows.
        before = routed(client)
        assert availability(bystander, sku)["available"] == 7  # the replica: before the push and the order
        assert grew(before, routed(client)) == {("replica", "")}

        # Once the replica has replayed the order, the buyer's reads go back to it.
        replica.resume()
        replica.wait_caught_up()
        before = routed(client)
        assert availability(buyer, sku)["available"] == 8
        assert grew(before, routed(client)) == {("replica", "")}


def test_a_write_through_one_process_is_read_back_through_another(
    make_replica_app, replica: Replica, pg_schema_url, tmp_path
):
    """Read-your-writes across web processes: two real hub processes (one gunicorn worker each, so
    each request's process is known) on one primary and one paused replica, the default lag check."""
    app = make_replica_app(HUB_REPLICA_MAX_LAG_MS=GENEROUS_MS)
    with app.app_context():
        _, net, sku = world(app)
    buyer, bystander = net.retailers
    search_path = pg_schema_url[1]["connect_args"]["options"]
    env = {
        "DATABASE_REPLICA_URL": f"{replica.url}?options={quote(search_path)}",
        "HUB_REPLICA_MAX_LAG_MS": str(GENEROUS_MS),
    }

    def available(base: str, retailer) -> int:
        response = requests.get(
            f"{base}/api/v1/availability?sku={sku}", headers=retailer.api.headers, timeout=30
        )
        assert response.status_code == 200, response.text
        (row,) = response.json()["data"]
        return row["available"]

    with (
        gunicorn(pg_schema_url, tmp_path, env, workers=1, threads=2) as a,
        gunicorn(pg_schema_url, tmp_path, env, workers=1, threads=2) as b,
    ):
        replica.wait_caught_up()
        before = routed(b)
        assert available(b, buyer) == 7
        assert grew(before, routed(b)) == {("replica", "")}
        replica.pause()

        # The buyer's order through process A, then its availability through process B.
        order = {"reference": f"R-{uuid.uuid4().hex[:8]}", "lines": [{"retailer_sku": sku, "quantity": 2}]}
        response = requests.post(
            f"{a}/api/v1/orders",
            json={**order, "ship_to": SHIP_TO},
            headers={**buyer.api.headers, "Idempotency-Key": uuid.uuid4().hex},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        before = routed(b)
        assert available(b, buyer) == 7 - 2  # the primary: the paused replica still shows 7
        assert grew(before, routed(b)) == {("primary", "own_write")}

        # B still sends a retailer that wrote nothing to the (paused) replica, as the bound allows.
        before = routed(b)
        assert available(b, bystander) == 7
        assert grew(before, routed(b)) == {("replica", "")}

        # Once the replica has replayed the order (and B has measured it again), B's reads for the
        # buyer go back to the replica.
        replica.resume()
        replica.wait_caught_up()
        time.sleep(0.2)  # HUB_REPLICA_CHECK_MS is 100
        before = routed(b)
        assert available(b, buyer) == 5
        assert grew(before, routed(b)) == {("replica", "")}
