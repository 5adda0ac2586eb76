"""Delivery outcomes recorded in batches (network/delivery/recorder.py), on PostgreSQL with real
receivers: the failed ones are retried with the same delivery id, none is lost or sent twice, and
the sending threads need no database connection of their own."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from network.delivery.dispatcher import Dispatcher
from network.extensions import db
from network.outbox.models import DELIVERED, Delivery
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from tests.webhooks.test_worker_crash import _record_changes, _retailer_with_endpoints

pytestmark = pytest.mark.postgres

ENDPOINTS = 40


def test_many_outcomes_at_once_on_two_connections_retry_the_failed_and_lose_none(
    pg_app, pg_schema_url, receiver_factory, clock
):
    receivers = [receiver_factory() for _ in range(ENDPOINTS)]
    failing = receivers[::4]
    for receiver in failing:
        receiver.script.append(500)  # refuses the first delivery once
    org_id = _retailer_with_endpoints(receivers)
    url, options = pg_schema_url
    # Two connections for eight sending threads: one for the dispatcher's rounds, one for the
    # recorder. A thread that wanted its own would wait for one and give up.
    engine = sa.create_engine(
        url,
        connect_args=options["connect_args"],
        pool_size=2,
        max_overflow=0,
        pool_timeout=0.01,
    )
    settings = WebhookSettings.from_config({**pg_app.config, "HUB_WEBHOOK_WORKERS": 8})
    dispatcher = Dispatcher(
        sessionmaker(bind=engine, expire_on_commit=False),
        settings=settings,
        box=SecretBox(pg_app.config["SECRET_KEY"]),
        clock=clock,
        rng=random.Random(7),
    )
    try:
        _record_changes(org_id, 3)  # three changes of three items: 120 deliveries
        dispatcher.run_until_idle(timeout=120)
        clock.advance(hours=1)  # the retries come due
        dispatcher.run_until_idle(timeout=120)
    finally:
        dispatcher.stop()
        engine.dispose()
    for receiver in receivers:
        sent = Counter(got.delivery_id for got in receiver.received)
        # Every event reached every endpoint; the refused one again, with the same delivery id.
        assert sorted(sent.values()) == ([1, 1, 2] if receiver in failing else [1, 1, 1])
        assert {got.json["data"]["available"] for got in receiver.received} == {0, 1, 2}
    rows = db.session.execute(sa.select(Delivery.status, Delivery.attempts)).all()
    assert Counter(rows) == Counter(
        {(DELIVERED, 1): ENDPOINTS * 3 - len(failing), (DELIVERED, 2): len(failing)}
    )
