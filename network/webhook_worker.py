"""Run the webhook dispatcher inside a worker or web process (the Flask-aware wiring of network/outbox)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import sessionmaker

from network.extensions import db
from network.outbox.dispatcher import Dispatcher
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox


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
