"""Recording delivery outcomes while the fan-out inserts deliveries for the same endpoints (PostgreSQL).

Found by tests/pg/test_many_processes.py: a worker's recorder locked endpoints FOR UPDATE in id
order while another worker's fan-out, inserting deliveries, held some of them FOR KEY SHARE (the
foreign key) and wanted the others: "deadlock detected", and the outcomes went unrecorded (sent
again when their leases expired).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.clock import utcnow
from network.db import transaction
from network.delivery.claims import Outcome, claim
from network.delivery.sending import Attempt, record_outcomes
from network.extensions import db
from network.outbox.fanout import fan_out
from network.outbox.models import DELIVERED, Delivery, Event
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from tests.webhooks.test_worker_crash import _record_changes, _retailer_with_endpoints

pytestmark = pytest.mark.postgres


def test_outcomes_recorded_while_the_fanout_inserts_deliveries_never_deadlock(pg_app):
    org_id = _retailer_with_endpoints([SimpleNamespace(url=f"http://127.0.0.1:9/hook{i}") for i in range(2)])
    _record_changes(org_id, 1)
    settings, box = WebhookSettings.from_config(pg_app.config), SecretBox("test-secret")
    now, engine = utcnow(), db.engine
    with transaction(db.session):
        fan_out(db.session, now=now, retry_for=settings.retry_for)
    with transaction(db.session):
        outgoing = sorted(
            claim(db.session, now=now, settings=settings, box=box, limit=2), key=lambda o: o.endpoint_id
        )
    first, second = (o.endpoint_id for o in outgoing)
    _record_changes(org_id, 1)  # a new event, whose deliveries the "fan-out" below inserts
    event_id = db.session.scalar(sa.select(sa.func.max(Event.id)))
    db.session.remove()
    failures: list[BaseException] = []

    def delivery(endpoint_id: int) -> Delivery:
        return Delivery(
            endpoint_id=endpoint_id,
            event_id=event_id,
            type="availability.changed",
            next_attempt_at=now,
            retry_until=now + dt.timedelta(hours=1),
            created_at=now,
        )

    def recorder() -> None:
        try:
            with Session(engine) as session, transaction(session):
                attempts = [Attempt(o, Outcome(status_code=200, error=None)) for o in outgoing]
                record_outcomes(session, attempts, now=now, settings=settings, box=box, rng=random.Random(1))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    blocked = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    fanout = Session(engine)
    try:
        with transaction(fanout):
            fanout.add(delivery(second))  # the second endpoint's row held FOR KEY SHARE
            fanout.flush()
            recording = threading.Thread(target=recorder)
            recording.start()
            deadline = time.monotonic() + 30
            with engine.connect() as conn:
                while (
                    recording.is_alive()
                    and not conn.execute(blocked).scalar()
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.02)
            fanout.add(delivery(first))  # then the first's, which the recorder locked first
            fanout.flush()
    except BaseException as exc:
        failures.append(exc)
    finally:
        fanout.close()
    recording.join(30)

    assert not failures, failures[0]
    statuses = db.session.execute(sa.select(Delivery.endpoint_id, Delivery.status)).all()
    assert sorted(statuses) == sorted(
        [(first, DELIVERED), (second, DELIVERED), (first, "pending"), (second, "pending")]
    )
