"""Finished deliveries are kept for the retention period, owed ones for ever."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.outbox.models import Delivery
from network.webhook_worker import prune_old_deliveries
from tests.webhooks.test_delivery import register


def test_old_finished_deliveries_are_pruned_and_pending_ones_kept(app, network, receiver_factory):
    endpoint = register(network.retailer, receiver_factory())
    for _ in range(3):
        network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping")
    old = utcnow() - dt.timedelta(days=31)
    with transaction(db.session):
        first, second, third = db.session.scalars(sa.select(Delivery).order_by(Delivery.id)).all()
        first.status, first.created_at = "delivered", old
        second.status, second.created_at = "dead", old
        third.created_at = old  # still pending: still owed

    prune_old_deliveries()

    db.session.rollback()
    assert db.session.scalars(sa.select(Delivery.id)).all() == [third.id]
