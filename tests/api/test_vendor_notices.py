"""Vendors are told by email (a real SMTP server on 127.0.0.1): new PO, ack overdue, held feed, stale feed, hold."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.flag_jobs import evaluate_flags, send_vendor_notices
from network.flags import notices
from network.outbox.events import FeedStale
from network.outbox.services import record
from network.partners.models import User
from tests.builders import make_variant, push_csv
from tests.conftest import make_app
from tests.flag_helpers import controlled_clock, order_of, po_action
from tests.order_helpers import stocked_item


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 (aiosmtpd's hook)
        with self.lock:
            self.messages.append(
                email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            )
        return "250 OK"

    def subjects(self, to: str) -> list[str]:
        with self.lock:
            return [m["Subject"] for m in self.messages if m["To"] == to]

    def body(self, to: str, contains: str) -> str:
        with self.lock:
            for message in self.messages:
                if message["To"] == to and contains in message["Subject"]:
                    return message.get_body(preferencelist=("plain",)).get_content()
        raise AssertionError(f"no email to {to} about {contains!r}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp) -> Mailbox:
    _, box = smtp
    with box.lock:
        box.messages.clear()
    return box


@pytest.fixture
def app(request: pytest.FixtureRequest, backend: str, tmp_path, smtp):
    """The hub on a fresh database, mailing to the SMTP server above."""
    controller, _ = smtp
    if backend == "postgres":
        url, options = request.getfixturevalue("pg_schema_url")
    else:
        url, options = f"sqlite:///{tmp_path / 'hub.sqlite3'}", {}
    app = make_app(url, options, SMTP_URL=f"smtp://127.0.0.1:{controller.port}")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def vendor_user(session, vendor) -> str:
    address = f"ops-{vendor.id}@vendor.example"
    with transaction(session):
        session.add(User(org_id=vendor.id, email=address, password_hash="x", created_at=utcnow()))
    return address


def stale_feed(session, vendor, retailers, *, last_count_at: dt.datetime) -> None:
    """What the feed-health job records, once per connection, when a vendor's count goes stale."""
    with transaction(session):
        for retailer in retailers:
            event = FeedStale(vendor.id, retailer.id, last_count_at.isoformat(), 24 * 60)
            for org in (vendor, retailer):
                record(session, org_id=org.id, event=event, key=f"connection:{retailer.id}", now=utcnow())


def test_vendors_hear_of_new_orders_overdue_acks_held_and_stale_feeds(session, network, mailbox, monkeypatch):
    clock = controlled_clock(monkeypatch)
    retailer, vendor = network.retailer, network.vendor
    address = vendor_user(session, vendor)
    _, sku = stocked_item(session, vendor, [retailer], 5, sku="DESK")
    for other in ("LAMP", "RUG"):
        make_variant(session, vendor, other)
    push_csv(vendor, "sku,quantity\nLAMP,4\nRUG,4\n", mode="delta")
    placed = order_of(retailer, sku, 1)
    held = push_csv(vendor, "sku,quantity\nDESK,5\n", mode="full")  # would zero LAMP and RUG: held
    assert held.get_json()["status"] == "held"

    assert send_vendor_notices() == 2
    assert sorted(mailbox.subjects(address)) == [
        "A stock feed was held for your confirmation",
        f"New purchase order {placed['po']}",
    ]
    assert f"http://hub.test/portal/purchase-orders/{placed['po']}" in mailbox.body(
        address, "New purchase order"
    )

    clock.advance(hours=25)
    evaluate_flags()  # past the 24 h acknowledgement SLA
    # The count is now older than the 24 h staleness limit of both retailers: one email says it.
    stale_feed(session, vendor, network.retailers, last_count_at=clock() - dt.timedelta(hours=25))
    assert send_vendor_notices() == 2
    assert mailbox.subjects(address)[2:] == [
        f"Purchase order {placed['po']} is overdue for acknowledgement",
        "Your stock is no longer shown to retailers",
    ]
    assert send_vendor_notices() == 0  # each notice once
    assert len(mailbox.subjects(address)) == 4
    assert mailbox.subjects(f"ops-{network.vendors[1].id}@vendor.example") == []


def test_a_vendor_is_told_when_its_variant_is_held(session, network, mailbox):
    retailer, vendor = network.retailer, network.vendor
    address = vendor_user(session, vendor)
    _, sku = stocked_item(session, vendor, [retailer], 5, sku="SOFA")
    placed = order_of(retailer, sku, 1)
    po_action(vendor, placed["po"], "reject", {"reason": "none left", "reason_code": "out_of_stock"})
    send_vendor_notices()
    assert "Variant SOFA is held at zero" in mailbox.subjects(address)
    assert "showed 5" in mailbox.body(address, "held at zero")


def test_a_notice_claimed_by_a_sender_that_died_is_sent_again_once(app, session, network, mailbox):
    retailer, vendor = network.retailer, network.vendor
    address = vendor_user(session, vendor)
    _, sku = stocked_item(session, vendor, [retailer], 5)
    order_of(retailer, sku, 1)
    with transaction(db.session):  # a sender claims the notice, then dies before sending it
        assert notices.claim_notices(db.session, now=utcnow(), public_url="http://hub.test") is not None
    assert send_vendor_notices() == 0  # its claim still stands
    later = utcnow() + notices.CLAIM + dt.timedelta(seconds=1)
    assert send_vendor_notices(now=later) == 1
    assert send_vendor_notices(now=later + dt.timedelta(minutes=1)) == 0
    assert len(mailbox.subjects(address)) == 1
