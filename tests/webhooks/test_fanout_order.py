"""The fan-out on PostgreSQL: an event that commits late is never skipped, and nothing waits on
an unrelated long transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

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
from tests.webhooks.conftest import WEBHOOK_CONFIG

pytestmark = pytest.mark.postgres


def _setup(receiver) -> int:
    now = utcnow()
    with transaction(db.session):
        org = partners.create_organization(db.session, kind="retailer", name="Order retailer", now=now)
        webhooks.create_endpoint(
            db.session,
            org_id=org.id,
            url=receiver.url,
            events=["*"],
            settings=WebhookSettings.from_config(WEBHOOK_CONFIG),
            box=SecretBox("test-secret"),
            actor=Actor(),
            now=now,
        )
    return org.id


def _record(session: Session, org_id: int, sku: str) -> None:
    now = utcnow()
    record_many(session, [(org_id, sku, AvailabilityChanged(sku, 1, None, now.isoformat()))], now=now)


def test_an_event_with_a_lower_id_committed_later_is_still_delivered(pg_app, receiver_factory):
    receiver = receiver_factory()
    org_id = _setup(receiver)
    dispatcher = build_dispatcher(pg_app)
    older, late = Session(db.engine), Session(db.engine)
    try:
        older.execute(sa.select(sa.func.txid_current()))  # takes its txid first
        _record(late, org_id, "LATE")  # a younger transaction takes the lower event id, stays open
        _record(older, org_id, "EARLY")  # the older one takes the higher id and commits first
        older.commit()
        dispatcher.run_until_idle()
        assert [r.json["data"]["retailer_sku"] for r in receiver.wait_for(1)] == ["EARLY"]

        late.commit()  # now the lower id commits: an id cursor would already be past it
        dispatcher.run_until_idle()
        assert sorted(r.json["data"]["retailer_sku"] for r in receiver.wait_for(2)) == ["EARLY", "LATE"]
        dispatcher.run_until_idle()
        assert len(receiver.received) == 2  # and each once
    finally:
        older.close()
        late.close()
        dispatcher.stop()


def test_a_long_transaction_elsewhere_does_not_hold_deliveries_back(pg_app, receiver_factory):
    receiver = receiver_factory()
    org_id = _setup(receiver)
    dispatcher = build_dispatcher(pg_app)
    long_running = Session(db.engine)
    try:
        long_running.execute(sa.select(sa.func.txid_current()))  # an open writer, oldest on the server
        for sku in ("A", "B"):
            with transaction(db.session):
                _record(db.session, org_id, sku)
            dispatcher.run_until_idle()
        assert [r.json["data"]["retailer_sku"] for r in receiver.wait_for(2)] == ["A", "B"]
        long_running.commit()
        dispatcher.run_until_idle()
        assert len(receiver.received) == 2  # passing the cursor over them later sends nothing again
    finally:
        long_running.close()
        dispatcher.stop()
