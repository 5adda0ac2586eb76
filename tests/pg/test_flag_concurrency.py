"""Flags under concurrency on PostgreSQL: workers evaluating at once, vendors refusing lines at once.

Each thread has its own app context (its own session and connection) and lines up on a barrier.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from network.clock import utcnow
from network.extensions import db
from network.flag_jobs import evaluate_flags
from network.flags.models import Flag
from network.outbox.models import Event
from network.stock.models import StockPosition
from tests.builders import Api, Party, issue_token, make_item, make_network, make_variant
from tests.flag_helpers import order_of
from tests.order_helpers import set_stock, stocked_item

pytestmark = pytest.mark.postgres


def _in_threads(app, work, count: int) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[index] = work(index)
            except BaseException as exc:  # surfaced below, in the test's thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def _api(app, party: Party) -> Api:
    client = app.test_client()
    return Api(client, issue_token(client, party.client_id, party.secret))


def test_workers_evaluating_at_once_raise_each_flag_once(pg_app):
    session = db.session
    net = make_network(session, pg_app.test_client(), retailers=1, vendors=1)
    _, sku = stocked_item(session, net.vendor, net.retailers, 50)
    placed = [order_of(net.retailer, sku, 1) for _ in range(8)]
    session.remove()
    later = utcnow() + dt.timedelta(hours=25)  # past the ack SLA and the staleness limit

    _in_threads(pg_app, lambda _: evaluate_flags(now=later), 4)

    kinds = Counter(session.execute(sa.select(Flag.po_line_id, Flag.kind)).all())
    assert set(kinds.values()) == {1}
    assert {kind for _, kind in kinds} == {"ack_overdue", "stale_feed"}
    assert len(kinds) == 2 * len(placed)
    at_risk = session.scalar(
        sa.select(sa.func.count()).select_from(Event).where(Event.type == "order.at_risk")
    )
    assert at_risk == len(kinds)


def test_refused_lines_rerouted_at_once_never_take_more_units_than_the_other_source_has(pg_app):
    session = db.session
    net = make_network(session, pg_app.test_client(), retailers=1, vendors=2)
    first, second = net.vendors
    a = make_variant(session, first, "A-1")
    b = make_variant(session, second, "B-1")
    sku = make_item(session, net.retailer, [a, b])
    set_stock(session, first, a, 40)
    set_stock(session, second, b, 5)  # room for 5 of the 8 refused lines below
    net.retailer.api.patch("/api/v1/settings", json={"auto_reroute": True})
    placed = [order_of(net.retailer, sku, 1) for _ in range(8)]
    assert {p["vendor"] for p in placed} == {first.id}
    session.remove()

    def refuse(index: int) -> int:
        api = _api(pg_app, first)
        response = api.post(
            f"/vendor-api/v1/purchase-orders/{placed[index]['po']}/reject", json={"reason": "no"}
        )
        return response.status_code

    assert _in_threads(pg_app, refuse, len(placed)) == [200] * len(placed)

    b_position = session.get(StockPosition, b)
    flags = session.scalars(sa.select(Flag).where(Flag.kind == "vendor_rejected")).all()
    rerouted = [flag for flag in flags if flag.resolution == "rerouted"]
    assert len(flags) == 8
    assert b_position.committed == len(rerouted) <= 5
    # A reroute skipped because a row was busy is picked up by the next evaluation.
    evaluate_flags()
    session.expire_all()
    assert session.get(StockPosition, b).committed == 5
    assert session.scalar(sa.select(sa.func.count()).select_from(Flag).where(Flag.resolved_at.is_(None))) == 3
