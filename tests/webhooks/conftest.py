"""Webhook fixtures: receivers on 127.0.0.1, a clock the test moves, and a dispatcher on the test's app."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest

from network.clock import utcnow
from network.webhook_worker import build_dispatcher
from tests.webhooks.receiver import Receiver

WEBHOOK_CONFIG = {"HUB_WEBHOOK_ALLOW_HTTP_HOSTS": "127.0.0.1", "HUB_WEBHOOK_ALLOW_PRIVATE": True}


@pytest.fixture(autouse=True)
def _allow_local_receivers(request: pytest.FixtureRequest) -> None:
    for name in ("app", "pg_app"):
        if name in request.fixturenames:
            request.getfixturevalue(name).config.update(WEBHOOK_CONFIG)


class Clock:
    """The wall clock plus an offset the test moves forward: never behind the real time the API uses."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver_factory(receivers: list[Receiver]):
    def make(status: int = 200) -> Receiver:
        receiver = Receiver(status).start()
        receivers.append(receiver)
        return receiver

    return make


@pytest.fixture
def dispatcher(app, clock: Clock):
    """A dispatcher on the test's app, driven by the test (`run_until_idle`) or started by it."""
    made = build_dispatcher(app, clock=clock, rng=random.Random(7))
    yield made
    made.stop()
