"""Run the webhook dispatcher inside a worker or web process (the Flask-aware wiring of network/delivery)."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, current_app
from sqlalchemy.orm import sessionmaker

from network.clock import utcnow
from network.db import transaction
from network.delivery.dispatcher import Dispatcher
from network.extensions import db
from network.outbox import webhooks
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox

log = logging.getLogger(__name__)

RETENTION_JOB_SECONDS = 3600


def build_dispatcher(app: Flask, **overrides: object) -> Dispatcher:
    """A dispatcher on the app's database and settings (not started)."""
    with app.app_context():
        engine = db.engine
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    options: dict = {
        "settings": WebhookSettings.from_config(app.config),
        "box": SecretBox(app.config["SECRET_KEY"]),
        "engine": engine,
        **overrides,
    }
    return Dispatcher(factory, **options)


def start_dispatcher(app: Flask) -> Dispatcher:
    """Start delivering webhooks in background threads of this process."""
    dispatcher = build_dispatcher(app).start()
    app.extensions["hub_dispatcher"] = dispatcher
    return dispatcher


def prune_old_deliveries() -> None:
    """Job: drop finished deliveries older than HUB_WEBHOOK_RETENTION_DAYS (default 30)."""
    days = float(current_app.config.get("HUB_WEBHOOK_RETENTION_DAYS", 30))
    with transaction(db.session):
        removed = webhooks.prune_deliveries(db.session, before=utcnow() - dt.timedelta(days=days))
    if removed:
        log.info("webhook retention: %d finished deliveries removed", removed)
