"""PostgreSQL connections killed under the hub (pg_terminate_backend): 503 + Retry-After, never a 500.

The app runs as in production, without a ping before each checkout (that would cost a round trip
per request). A request whose connection dies answers 503 with Retry-After, nothing half-written;
the retry with the same Idempotency-Key creates the order exactly once.
"""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.orders.models import Order, PurchaseOrderLine
from network.outbox.models import Event
from network.stock.models import StockPosition
from tests.builders import Api, availability, issue_token, make_network
from tests.conftest import make_app
from tests.domain.test_inflight_stateful import brute_force_committed
from tests.order_helpers import SHIP_TO, stocked_item

pytestmark = pytest.mark.postgres

THREADS = 4
STOCK = 10_000


@pytest.fixture
def fragile_app(request, pg_admin_engine):
    """The hub on PostgreSQL as production runs it (no pre-ping), its connections tagged for killing."""
    url, options = request.getfixturevalue("pg_schema_url")
    tag = f"dropnet_fault_{uuid.uuid4().hex[:10]}"
    connect_args = {**options["connect_args"], "application_name": tag}
    app = make_app(url, {**options, "pool_pre_ping": False, "connect_args": connect_args})
    with app.app_context():
        yield app, tag
        db.session.remove()
        db.engine.dispose()


def terminate(admin: sa.Engine, tag: str) -> int:
    """Kill every server session the app has open, idle in its pool or mid-transaction."""
    with admin.connect() as conn:
        killed = conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :tag"),
            {"tag": tag},
        )
        return len(killed.all())


def order(api: Api, sku: str, key: str, quantity: int = 1):
    body = {"reference": key[:12], "lines": [{"retailer_sku": sku, "quantity": quantity}], "ship_to": SHIP_TO}
    return api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["type"].endswith("/database-unavailable")


def test_a_killed_idle_connection_answers_503_then_the_hub_recovers(fragile_app, pg_admin_engine):
    app, tag = fragile_app
    client = app.test_client()
    net = make_network(db.session, client, retailers=1, vendors=1)
    _, sku = stocked_item(db.session, net.vendor, net.retailers, 5)
    retailer = net.retailers[0]
    db.session.remove()  # the test's own connection goes back to the pool with the app's

    assert terminate(pg_admin_engine, tag) > 0
    key = uuid.uuid4().hex
    assert_unavailable(order(retailer.api, sku, key))

    retried = order(retailer.api, sku, key)
    assert retried.status_code == 201, retried.get_data(as_text=True)
    assert availability(retailer, sku)["available"] == 4


def test_orders_under_killed_connections_are_created_exactly_once_after_retries(fragile_app, pg_admin_engine):
    app, tag = fragile_app
    session, client = db.session, app.test_client()
    net = make_network(session, client, retailers=1, vendors=1)
    variant, sku = stocked_item(session, net.vendor, net.retailers, STOCK)
    retailer = net.retailers[0]
    apis = [
        Api(app.test_client(), issue_token(client, retailer.client_id, retailer.secret))
        for _ in range(THREADS)
    ]
    session.remove()
    answers: dict[str, list] = {}  # key -> [(status, body, headers)] in the order sent
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[BaseException] = []

    def buyer(api: Api) -> None:
        try:
            for _ in range(40):
                key = uuid.uuid4().hex
                response = order(api, sku, key)
                with lock:
                    answers[key] = [response]
                if stop.is_set():
                    return
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=buyer, args=(api,)) for api in apis]
    for thread in threads:
        thread.start()
    kills = 0
    while any(t.is_alive() for t in threads):
        kills += terminate(pg_admin_engine, tag)
        stop.wait(0.02)
        with lock:
            if sum(r[0].status_code == 503 for r in answers.values()) >= 8:
                stop.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures[0]

    first = [rs[0] for rs in answers.values()]
    assert {r.status_code for r in first} <= {201, 409, 503}
    lost = [key for key, rs in answers.items() if rs[0].status_code == 503]
    assert lost, f"no request met a killed connection ({kills} killed)"
    for key in lost:
        assert_unavailable(answers[key][0])
        for _ in range(5):  # the pool reconnects: a retry or two is enough
            again = order(apis[0], sku, key)
            answers[key].append(again)
            if again.status_code != 503:
                break
        assert again.status_code == 201, again.get_data(as_text=True)

    # Every key ended in exactly one order (a commit that landed before its connection died is
    # replayed, not repeated), whole: its line, its purchase order line, its event, its units.
    created = {rs[-1].get_json()["id"] for rs in answers.values() if rs[-1].status_code == 201}
    db.engine.dispose()  # the test's own reads start on fresh connections
    session.expire_all()
    orders = set(session.scalars(sa.select(Order.id)))
    assert orders == created
    po_lines = session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrderLine))
    accepted = session.scalar(sa.select(sa.func.count()).where(Event.type == "order.accepted"))
    assert po_lines == accepted == len(orders)
    position = session.get(StockPosition, variant)
    assert position.committed == len(orders) == brute_force_committed(session, variant)
