"""A throttled channel: availability changes coalesced into one push per interval, never stale."""

from __future__ import annotations

import random

import sqlalchemy as sa

from network.extensions import db
from network.outbox.models import Event
from tests.builders import make_item, make_variant, push_json
from tests.webhooks.test_delivery import register

ITEMS = 20
INTERVAL = 600


def _catalog(session, network) -> list[str]:
    skus = []
    for i in range(ITEMS):
        sku = f"TH-{i:02d}"
        make_item(session, network.retailer, [make_variant(session, network.vendor, sku)], sku=sku)
        skus.append(sku)
    return skus


def _push(network, figures: dict[str, int]) -> None:
    rows = [{"sku": sku, "quantity": quantity} for sku, quantity in figures.items()]
    response = push_json(network.vendor, rows, mode="delta")
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_thousand_changes_in_one_interval_make_one_push_with_the_final_figures(
    session, network, receiver_factory, dispatcher, clock
):
    skus = _catalog(session, network)
    receiver = receiver_factory()
    register(network.retailer, receiver, min_interval_seconds=INTERVAL, buffer=3, max_quantity=150)
    # The figures below jump (1 -> 5,000) on purpose: the misplaced-period guard must not hold them.
    assert network.vendor.api.patch("/vendor-api/v1/guards", json={"enabled": False}).status_code == 200

    _push(network, {skus[0]: 1})  # the first change goes out at once and opens the interval
    dispatcher.run_until_idle()
    (first,) = receiver.wait_for(1)
    assert first.json["data"]["items"] == [
        {"retailer_sku": skus[0], "available": 0, "updated_at": first.json["data"]["items"][0]["updated_at"]}
    ]
    events_before = db.session.scalar(sa.select(sa.func.count()).select_from(Event))

    rng = random.Random(5)
    final: dict[str, int] = {}
    for step in range(50):  # 50 pushes x 20 items = 1,000 changes, all within the interval
        # Each step's figures differ from the last (disjoint ranges), so every row is a change.
        figures = {sku: (50 - step) * 100 + rng.randrange(100) for sku in skus}
        _push(network, figures)
        final.update(figures)
        if step % 10 == 9:
            clock.advance(seconds=100)
            dispatcher.run_until_idle()
            assert len(receiver.received) == 1, "pushed again within the interval"
    db.session.rollback()
    changes = db.session.scalar(sa.select(sa.func.count()).select_from(Event)) - events_before
    assert changes == 1000

    clock.advance(seconds=INTERVAL - 500 + 1)
    dispatcher.run_until_idle()
    first, second = receiver.wait_for(2)
    items = {item["retailer_sku"]: item["available"] for item in second.json["data"]["items"]}
    # Every changed item once, with its latest figure after the channel's buffer and cap.
    assert items == {sku: max(0, min(final[sku] - 3, 150)) for sku in skus}
    assert len(set(items.values())) > 1  # not all at the cap: the figures themselves are checked
    assert second.json["type"] == "availability.changed"

    clock.advance(seconds=INTERVAL + 1)
    dispatcher.run_until_idle()
    assert len(receiver.received) == 2, "nothing changed, so nothing more is pushed"


def test_a_change_during_a_push_is_not_lost(session, network, receiver_factory, dispatcher, clock):
    skus = _catalog(session, network)[:2]
    receiver = receiver_factory()
    register(network.retailer, receiver, min_interval_seconds=INTERVAL)
    _push(network, {skus[0]: 5})
    dispatcher.run_until_idle()
    receiver.wait_for(1)

    _push(network, {skus[0]: 6, skus[1]: 9})
    clock.advance(seconds=INTERVAL + 1)
    # The receiver answers the push only after a newer figure committed: it must follow.
    receiver.hang = True
    dispatcher.start()
    assert receiver.hanging.wait(20)
    _push(network, {skus[0]: 7})
    receiver.hang = False
    receiver.release.set()
    receiver.wait_for(2)
    clock.advance(seconds=INTERVAL + 1)
    dispatcher.poke()
    pushes = receiver.wait_for(3)
    latest = {item["retailer_sku"]: item["available"] for item in pushes[2].json["data"]["items"]}
    assert latest[skus[0]] == 7


def test_a_throttled_endpoint_still_gets_other_events_one_by_one(
    session, network, receiver_factory, dispatcher
):
    receiver = receiver_factory()
    endpoint = register(network.retailer, receiver, events=["*"], min_interval_seconds=INTERVAL)
    network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping")
    network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping")
    dispatcher.run_until_idle()
    assert [r.json["type"] for r in receiver.wait_for(2)] == ["ping", "ping"]
