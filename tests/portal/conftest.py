"""Portal fixtures: the app sends its email to a real SMTP server (aiosmtpd on 127.0.0.1), CSRF stays
on (the test config does not disable it), and helpers read the token from the page like a browser."""

from __future__ import annotations

import email
import email.policy
import functools
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.partners import services as partners
from network.partners.models import User
from tests.builders import unique
from tests.conftest import make_app

PASSWORD = "Correct-horse-42"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Mailbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 (aiosmtpd's hook)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> email.message.EmailMessage:
        found = self.to(address)
        assert found, f"no email to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]


def body(message: email.message.EmailMessage, subtype: str = "plain") -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def link_in(message: email.message.EmailMessage, prefix: str = "http://hub.test/portal/") -> str:
    """The portal path a received email links to (its plain-text part), e.g. /portal/invites/<token>."""
    match = re.search(re.escape(prefix) + r"\S+", body(message))
    assert match, body(message)
    return match.group(0).removeprefix("http://hub.test")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    _, box = smtp_server
    with box.lock:
        box.messages.clear()
    return box


class BrowserLikeClient(FlaskClient):
    """Runs each request in an app context of its own, as a server does.

    The fixture keeps one app context pushed for builders; requests would otherwise share its
    `g` (and database session) with each other and with the test.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(request: pytest.FixtureRequest, backend: str, tmp_path, smtp_server):
    """The hub app on a fresh database (SQLite, and PostgreSQL when configured) mailing to aiosmtpd."""
    controller, _ = smtp_server
    if backend == "postgres":
        url, options = request.getfixturevalue("pg_schema_url")
    else:
        url, options = f"sqlite:///{tmp_path / 'hub.sqlite3'}", {}
    app = make_app(url, options, SMTP_URL=f"smtp://127.0.0.1:{controller.port}")
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def fresh(session) -> None:
    """Forget what the test's session holds, to read what the requests committed."""
    session.rollback()
    session.expire_all()


def csrf_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def page_token(client: FlaskClient, path: str = "/portal/login") -> str:
    """Read the CSRF token from a page's form, as a browser would submit it."""
    response = client.get(path)
    return csrf_of(response.get_data(as_text=True))


def submit(client: FlaskClient, action: str, data: dict, *, page: str | None = None, **kwargs):
    """Post a form with the token read from `page` (default: the action's own page)."""
    token = page_token(client, page or action)
    return client.post(action, data={"csrf_token": token, **data}, **kwargs)


@dataclass
class VendorUser:
    org_id: int
    org_name: str
    user_id: int
    email: str
    password: str = PASSWORD


@functools.cache
def _password_hash(password: str) -> str:
    # Checking a password costs what its stored hash says (scrypt N=2**15 for users the hub
    # creates); builders' users carry a cheap scrypt so that signing in fifty times stays fast.
    return generate_password_hash(password, method="scrypt:1024:8:1")


def make_vendor_user(session, *, org_id: int | None = None, password: str = PASSWORD) -> VendorUser:
    """A vendor user (of a new vendor unless org_id is given) whose password is `password`."""
    now = utcnow()
    with transaction(session):
        if org_id is None:
            org = partners.create_organization(session, kind="vendor", name=unique("Vendor Co"), now=now)
        else:
            org = partners.get_organization(session, org_id)
        user = User(
            org_id=org.id,
            email=f"{unique('user')}@vendor.example",
            password_hash=_password_hash(password),
            created_at=now,
        )
        session.add(user)
    return VendorUser(org.id, org.name, user.id, user.email, password)


def sign_in(client: FlaskClient, user: VendorUser) -> None:
    response = submit(client, "/portal/login", {"email": user.email, "password": user.password})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def vendor_user(session) -> VendorUser:
    return make_vendor_user(session)


@pytest.fixture
def signed_in(client, vendor_user) -> VendorUser:
    sign_in(client, vendor_user)
    return vendor_user
