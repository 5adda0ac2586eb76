"""Real worker processes on PostgreSQL: a kill -9 loses no delivery; two dispatchers never send one twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.outbox import webhooks
from network.outbox.events import AvailabilityChanged
from network.outbox.services import record_many
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from network.partners import services as partners
from network.partners.audit import Actor
from network.webhook_worker import build_dispatcher
from tests.processes import start_worker, stop, wait_until
from tests.webhooks.conftest import WEBHOOK_CONFIG

pytestmark = pytest.mark.postgres


def _retailer_with_endpoints(receivers) -> int:
    now = utcnow()
    settings = WebhookSettings.from_config(WEBHOOK_CONFIG)
    with transaction(db.session):
        org = partners.create_organization(db.session, kind="retailer", name="Crash-test retailer", now=now)
        for receiver in receivers:
            webhooks.create_endpoint(
                db.session,
                org_id=org.id,
                url=receiver.url,
                events=["*"],
                settings=settings,
                box=SecretBox("test-secret"),
                actor=Actor(),
                now=now,
            )
    return org.id


def _record_changes(org_id: int, count: int) -> None:
    """Availability changes of a few items, several per item (so per-item order matters too)."""
    now = utcnow()
    changes = [
        (org_id, f"SKU-{i % 7}", AvailabilityChanged(f"SKU-{i % 7}", i, None, now.isoformat()))
        for i in range(count)
    ]
    with transaction(db.session):
        record_many(db.session, changes, now=now)


WORKER_ENV = {
    "HUB_WEBHOOK_ALLOW_HTTP_HOSTS": "127.0.0.1",
    "HUB_WEBHOOK_ALLOW_PRIVATE": "1",
    "HUB_WEBHOOK_TIMEOUT_SECONDS": "1",
    "HUB_WEBHOOK_LEASE_SECONDS": "2",  # a killed worker's endpoints come free quickly
}


def _start_worker(pg_schema_url, tmp_path: Path) -> subprocess.Popen:
    return start_worker(pg_schema_url, tmp_path, WORKER_ENV)


def test_a_worker_killed_mid_batch_loses_no_delivery(pg_app, pg_schema_url, receiver_factory, tmp_path):
    receivers = [receiver_factory() for _ in range(3)]
    for receiver in receivers:
        receiver.delay = 0.03  # slow enough that the kill lands in the middle of the batch
    org_id = _retailer_with_endpoints(receivers)
    _record_changes(org_id, 40)
    expected = 3 * 40

    worker = _start_worker(pg_schema_url, tmp_path)
    try:
        wait_until(lambda: sum(len(r.received) for r in receivers) >= 20, 60, "the first deliveries")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        assert sum(len(r.received) for r in receivers) < expected, "the batch finished before the kill"

        worker = _start_worker(pg_schema_url, tmp_path)
        wait_until(
            lambda: sum(len({g.json["id"] for g in r.received}) for r in receivers) >= expected,
            60,
            "every event at every endpoint after the restart",
        )
    finally:
        stop(worker)

    delivery_ids = set()
    for receiver in receivers:
        ids_by_event = defaultdict(set)
        for got in receiver.received:
            ids_by_event[got.json["id"]].add(got.delivery_id)
        assert len(ids_by_event) == 40
        # A duplicate (sent before the kill, unacknowledged in the database) carries the same id.
        assert all(len(ids) == 1 for ids in ids_by_event.values())
        delivery_ids |= {next(iter(ids)) for ids in ids_by_event.values()}
        figures = defaultdict(list)
        for got in receiver.received:
            figures[got.json["data"]["retailer_sku"]].append(got.json["data"]["available"])
        for seen in figures.values():  # per item in order; a resend repeats an earlier figure only
            assert sorted(set(seen)) == list(dict.fromkeys(seen))
    assert len(delivery_ids) == expected


def test_two_dispatchers_never_deliver_one_event_to_one_endpoint_twice(pg_app, receiver_factory):
    receivers = [receiver_factory() for _ in range(5)]
    org_id = _retailer_with_endpoints(receivers)
    first, second = build_dispatcher(pg_app), build_dispatcher(pg_app)
    first.start()
    second.start()
    try:
        for _ in range(4):
            _record_changes(org_id, 30)
        wait_until(lambda: sum(len(r.received) for r in receivers) >= 5 * 120, 60, "every delivery")
        time.sleep(0.5)  # anything sent twice would arrive now
    finally:
        first.stop()
        second.stop()
    for receiver in receivers:
        events = [got.json["id"] for got in receiver.received]
        assert len(events) == len(set(events)) == 120
