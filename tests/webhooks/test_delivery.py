"""Webhook delivery with real parts: the hub's API, a real dispatcher, real receivers on 127.0.0.1."""

from __future__ import annotations

import time

from network.db import transaction
from network.extensions import db
from network.outbox.signing import InvalidSignature, verify
from tests.builders import make_item, make_variant, push_json


def register(retailer, receiver, **fields) -> dict:
    body = {"url": receiver.url, "events": ["availability.changed"], **fields}
    response = retailer.api.post("/api/v1/webhook-endpoints", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def item(session, network, sku: str) -> str:
    """A retailer item sourced from a new variant of the vendor (its first figure, 0, is published)."""
    return make_item(session, network.retailer, [make_variant(session, network.vendor, sku)], sku=sku)


def stock(network, sku: str, quantity: int) -> None:
    response = push_json(network.vendor, [{"sku": sku, "quantity": quantity}], mode="delta")
    assert response.status_code == 200, response.get_data(as_text=True)


def deliveries(retailer, endpoint_id: int, status: str | None = None) -> list[dict]:
    # The test client's requests share the test's app context, hence its session: end the read
    # transaction an earlier request left open, so this one sees what the dispatcher committed.
    db.session.rollback()
    query = f"?status={status}" if status else ""
    response = retailer.api.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["data"]


def test_a_vendor_push_reaches_the_retailer_signed_with_its_secret(
    session, network, receiver_factory, dispatcher
):
    receiver = receiver_factory()
    sku = item(session, network, "LAMP")
    endpoint = register(network.retailer, receiver)
    stock(network, sku, 7)

    dispatcher.run_until_idle()

    (got,) = receiver.wait_for(1)
    assert got.json["type"] == "availability.changed"
    assert got.json["data"]["retailer_sku"] == sku
    assert got.json["data"]["available"] == 7
    assert set(got.json) == {"id", "type", "created_at", "data"}
    timestamp = int(got.signature.split(",")[0][2:])
    assert verify(got.signature, got.body, endpoint["secret"], now=timestamp) == timestamp
    # A body changed in transit, or another secret, does not verify.
    for body, secret in ((got.body + b" ", endpoint["secret"]), (got.body, "whsec_other")):
        try:
            verify(got.signature, body, secret, now=timestamp)
        except InvalidSignature:
            pass
        else:
            raise AssertionError("a forged delivery verified")
    (listed,) = deliveries(network.retailer, endpoint["id"])
    assert listed["status"] == "delivered"
    assert got.delivery_id == str(listed["id"])


def test_a_receiver_answering_500_gets_the_event_again_with_the_same_delivery_id(
    session, network, receiver_factory, dispatcher, clock
):
    receiver = receiver_factory()
    receiver.script.extend([500])
    item(session, network, "CHAIR")
    endpoint = register(network.retailer, receiver)
    stock(network, "CHAIR", 5)

    dispatcher.run_until_idle()
    (first,) = receiver.wait_for(1)
    (pending,) = deliveries(network.retailer, endpoint["id"])
    assert (pending["status"], pending["attempts"], pending["last_status_code"]) == ("pending", 1, 500)

    clock.advance(seconds=11)  # the first retry comes within 10 s (jittered)
    dispatcher.run_until_idle()
    first, second = receiver.wait_for(2)
    assert second.delivery_id == first.delivery_id
    assert second.json == first.json
    (done,) = deliveries(network.retailer, endpoint["id"])
    assert (done["status"], done["attempts"]) == ("delivered", 2)


def test_a_hanging_receiver_does_not_delay_another_endpoint(session, network, receiver_factory, dispatcher):
    hanging, healthy = receiver_factory(), receiver_factory()
    hanging.hang = True
    item(session, network, "DESK")
    register(network.retailer, hanging)
    register(network.retailer, healthy)
    dispatcher.start()

    stock(network, "DESK", 5)

    assert hanging.hanging.wait(20), "the hanging receiver was never called"
    (got,) = healthy.wait_for(1)
    assert got.json["data"]["retailer_sku"]
    assert not hanging.received  # still held: the healthy endpoint did not wait for it
    hanging.release.set()
    hanging.wait_for(1)


def test_a_delivery_that_keeps_failing_for_a_day_is_dead_lettered_and_can_be_replayed(
    session, network, receiver_factory, dispatcher, clock
):
    receiver = receiver_factory(status=503)
    item(session, network, "SOFA")
    endpoint = register(network.retailer, receiver)
    stock(network, "SOFA", 5)

    dispatcher.run_until_idle()
    for _ in range(60):  # backoff doubles from 10 s to an hourly cap: about 30 attempts in 24 h
        clock.advance(hours=1)
        dispatcher.run_until_idle()
        if deliveries(network.retailer, endpoint["id"], "dead"):
            break
    (dead,) = deliveries(network.retailer, endpoint["id"], "dead")
    assert dead["attempts"] > 10
    assert dead["last_status_code"] == 503
    first_attempt = receiver.received[0]
    assert {r.delivery_id for r in receiver.received} == {first_attempt.delivery_id}

    receiver.status = 200
    response = network.retailer.api.post(f"/api/v1/webhook-deliveries/{dead['id']}/replay")
    assert response.status_code == 202, response.get_data(as_text=True)
    dispatcher.run_until_idle()
    assert receiver.received[-1].delivery_id == first_attempt.delivery_id
    assert receiver.received[-1].json == first_attempt.json
    assert deliveries(network.retailer, endpoint["id"], "dead") == []
    assert deliveries(network.retailer, endpoint["id"], "delivered")[0]["id"] == dead["id"]


def test_replaying_a_pending_delivery_is_a_conflict(session, network, receiver_factory):
    receiver = receiver_factory()
    endpoint = register(network.retailer, receiver)
    ping = network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping").get_json()
    response = network.retailer.api.post(f"/api/v1/webhook-deliveries/{ping['id']}/replay")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


def test_a_ping_goes_to_that_endpoint_only(session, network, receiver_factory, dispatcher):
    pinged, other = receiver_factory(), receiver_factory()
    endpoint = register(network.retailer, pinged, events=["*"])
    register(network.retailer, other, events=["*"])

    response = network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping")
    assert response.status_code == 202, response.get_data(as_text=True)
    dispatcher.run_until_idle()

    (got,) = pinged.wait_for(1)
    assert got.json["type"] == "ping"
    assert got.json["data"]["endpoint_id"] == endpoint["id"]
    assert other.received == []


def test_during_a_rotation_both_secrets_verify_then_only_the_new_one(
    session, network, receiver_factory, dispatcher, clock
):
    receiver = receiver_factory()
    endpoint = register(network.retailer, receiver, events=["*"])
    rotated = network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["secret"]
    assert new_secret != endpoint["secret"]

    network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping")
    dispatcher.run_until_idle()
    (during,) = receiver.wait_for(1)
    t = int(during.signature.split(",")[0][2:])
    for secret in (endpoint["secret"], new_secret):
        verify(during.signature, during.body, secret, now=t)

    clock.advance(hours=25)  # past the 24 h grace
    network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping")
    dispatcher.run_until_idle()
    after = receiver.wait_for(2)[1]
    t = int(after.signature.split(",")[0][2:])
    verify(after.signature, after.body, new_secret, now=t)
    try:
        verify(after.signature, after.body, endpoint["secret"], now=t)
    except InvalidSignature:
        pass
    else:
        raise AssertionError("the old secret still verifies after its grace period")


def test_changes_to_one_item_arrive_in_order(session, network, receiver_factory, dispatcher):
    receiver = receiver_factory()
    sku = item(session, network, "STOOL")
    register(network.retailer, receiver)
    for quantity in range(1, 12):
        stock(network, sku, quantity)
    dispatcher.run_until_idle()
    figures = [
        r.json["data"]["available"] for r in receiver.wait_for(11) if r.json["data"]["retailer_sku"] == sku
    ]
    assert figures == list(range(1, 12))


def test_an_unthrottled_endpoint_hears_a_change_without_waiting_for_the_poll(
    app, session, network, receiver_factory, dispatcher
):
    receiver = receiver_factory()
    item(session, network, "RUG")
    register(network.retailer, receiver)
    dispatcher.settings = type(dispatcher.settings)(**{**dispatcher.settings.__dict__, "poll_seconds": 3600})
    dispatcher.start()
    time.sleep(0.2)  # let the loop reach its wait (the wake-up, not the first round, must deliver)

    stock(network, "RUG", 3)

    (got,) = receiver.wait_for(1, timeout=30)
    assert got.json["data"]["available"] == 3


def test_the_channel_sees_its_buffer_and_cap(session, network, receiver_factory, dispatcher):
    receiver = receiver_factory()
    item(session, network, "BED")
    register(network.retailer, receiver, buffer=2, max_quantity=10)
    stock(network, "BED", 50)
    stock(network, "BED", 3)
    dispatcher.run_until_idle()
    got = [r.json["data"] for r in receiver.wait_for(2)]
    assert [(d["available"], d["previous"]) for d in got] == [(10, 0), (1, 10)]


def test_an_endpoint_whose_secret_cannot_be_read_does_not_stop_the_others(
    session, network, receiver_factory, dispatcher, clock
):
    from network.outbox.models import WebhookEndpoint
    from network.outbox.signing import SecretBox

    broken_receiver, healthy = receiver_factory(), receiver_factory()
    broken = register(network.retailer, broken_receiver)
    register(network.retailer, healthy)
    with transaction(session):  # as if SECRET_KEY had changed since it was sealed
        session.get(WebhookEndpoint, broken["id"]).secret_sealed = SecretBox("another key").seal("whsec_x")
    item(session, network, "LAMP")
    dispatcher.run_until_idle()

    assert healthy.wait_for(1)
    assert broken_receiver.received == []
    (stuck,) = deliveries(network.retailer, broken["id"])
    assert "rotate" in stuck["last_error"]

    rotated = network.retailer.api.post(f"/api/v1/webhook-endpoints/{broken['id']}/rotate-secret").get_json()
    clock.advance(hours=1, seconds=1)
    dispatcher.run_until_idle()
    (got,) = broken_receiver.wait_for(1)
    t = int(got.signature.split(",")[0][2:])
    verify(got.signature, got.body, rotated["secret"], now=t)
