"""A retailer joins: the operator's CLI → the owner's activation email (real SMTP) → the console.

Also: a used or expired activation link is refused, the console shows only the signed-in
retailer's exceptions, and a vendor's credentials do not open it.
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from network.clock import utcnow
from network.db import transaction
from network.flags.models import Flag
from network.partners import services as partners
from network.partners.models import Organization, PasswordReset, User
from tests.builders import Api, Party, connect, issue_token, make_org
from tests.flag_helpers import order_of
from tests.order_helpers import stocked_item
from tests.portal.conftest import PASSWORD, csrf_of, fresh, link_in, make_vendor_user, submit

OWNER = "owner@shop.example"


def create_retailer(app, name: str = "Corner Shop", email: str = OWNER):
    return app.test_cli_runner().invoke(
        args=["hub", "create-retailer", "--name", name, "--owner-email", email]
    )


def activation_path(mailbox, email: str = OWNER) -> str:
    return link_in(mailbox.last_to(email), prefix="http://hub.test/console/activate/")


def activate(client, path: str, password: str = PASSWORD):
    return submit(client, path, {"password": password, "confirm": password})


def retailer_party(session, client, email: str = OWNER) -> Party:
    """API access for the retailer the CLI created, to place an order as its shop would."""
    org_id = session.scalar(sa.select(User.org_id).where(User.email == email))
    with transaction(session):
        api_client, secret = partners.create_api_client(session, org_id=org_id, now=utcnow())
    org = session.get(Organization, org_id)
    return Party(org_id, org.name, Api(client, issue_token(client, api_client.client_id, secret)))


def raise_flag(session, placed: dict, retailer_id: int, vendor_id: int, kind: str, hours_ago: int) -> None:
    with transaction(session):
        session.add(
            Flag(
                retailer_id=retailer_id,
                vendor_id=vendor_id,
                order_id=placed["order"],
                order_line_id=placed["line"],
                po_line_id=placed["po_line"],
                kind=kind,
                raised_at=utcnow() - dt.timedelta(hours=hours_ago),
                detail={},
            )
        )


def test_cli_email_activation_and_the_console_home_shows_the_flag(app, client, session, mailbox):
    result = create_retailer(app)
    assert result.exit_code == 0, result.output
    assert '"email_sent": true' in result.output

    message = mailbox.last_to(OWNER)
    assert "Corner Shop" in message["Subject"]
    path = activation_path(mailbox)
    # Only the token's hash is stored.
    token = path.rsplit("/", 1)[1]
    fresh(session)
    assert session.scalar(sa.select(PasswordReset.id).where(PasswordReset.token_hash == token)) is None

    # Before activation nobody can sign in (the owner has no password yet).
    refused = submit(client, "/console/login", {"email": OWNER, "password": PASSWORD})
    assert refused.status_code == 401

    # An order of this retailer, and a flag on it that is 5 hours old.
    retailer = retailer_party(session, client)
    vendor = make_org(session, client, "vendor")
    connect(session, retailer, vendor)
    _, sku = stocked_item(session, vendor, [retailer], 10)
    placed = order_of(retailer, sku, 1)
    raise_flag(session, placed, retailer.id, vendor.id, "ack_overdue", hours_ago=5)

    landed = activate(client, path)
    assert landed.status_code == 302
    assert landed.headers["Location"] == "/console"
    home = client.get("/console")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "Corner Shop" in page
    assert "ack_overdue" in page and vendor.name in page and "5 h" in page
    assert "default-src 'self'" in home.headers["Content-Security-Policy"]

    # Signed out, then back in with the chosen password; the old session cookie no longer works.
    token = csrf_of(page)
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/console").headers["Location"].startswith("/console/login")
    back = submit(client, "/console/login", {"email": OWNER, "password": PASSWORD, "next": "/console"})
    assert back.status_code == 302 and back.headers["Location"] == "/console"


def test_a_used_activation_link_is_refused(app, client, mailbox):
    assert create_retailer(app).exit_code == 0
    path = activation_path(mailbox)
    assert activate(client, path).status_code == 302
    again = client.get(path)
    assert again.status_code == 410
    assert "already used" in again.get_data(as_text=True)


def test_an_expired_activation_link_is_refused(app, client, session, mailbox):
    assert create_retailer(app).exit_code == 0
    path = activation_path(mailbox)
    with transaction(session):
        session.execute(sa.update(PasswordReset).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    page = client.get(path)
    assert page.status_code == 410
    assert "expired" in page.get_data(as_text=True)
    # Posting the form anyway changes nothing: the owner still cannot sign in.
    assert client.post(path, data={"password": PASSWORD, "confirm": PASSWORD}).status_code in (400, 410)
    assert submit(client, "/console/login", {"email": OWNER, "password": PASSWORD}).status_code == 401


def test_a_mistyped_link_and_a_bad_email_are_refused_clearly(app, client, mailbox):
    assert client.get("/console/activate/not-a-token").status_code == 404
    result = create_retailer(app, email="not-an-email")
    assert result.exit_code != 0 and "email" in result.output
    assert mailbox.messages == []


def test_the_console_shows_only_its_own_retailers_exceptions(app, client, session, mailbox):
    assert create_retailer(app).exit_code == 0
    assert activate(client, activation_path(mailbox)).status_code == 302
    other = make_org(session, client, "retailer")
    vendor = make_org(session, client, "vendor")
    connect(session, other, vendor)
    _, sku = stocked_item(session, vendor, [other], 10)
    placed = order_of(other, sku, 1)
    raise_flag(session, placed, other.id, vendor.id, "shortfall", hours_ago=2)

    page = client.get("/console").get_data(as_text=True)
    assert "shortfall" not in page and "No open flags." in page


def test_a_vendor_user_cannot_sign_in_to_the_console(app, client, session):
    vendor = make_vendor_user(session)
    response = submit(client, "/console/login", {"email": vendor.email, "password": vendor.password})
    assert response.status_code == 401


def test_the_cli_creates_a_vendor_whose_owner_activates_in_the_portal(app, client, mailbox):
    result = app.test_cli_runner().invoke(
        args=["hub", "create-vendor", "--name", "Maker Co", "--owner-email", "maker@vendor.example"]
    )
    assert result.exit_code == 0, result.output
    path = link_in(mailbox.last_to("maker@vendor.example"), prefix="http://hub.test/portal/reset/")
    landed = submit(client, path, {"password": PASSWORD, "confirm": PASSWORD})
    assert landed.status_code == 302
    assert "Maker Co" in client.get("/portal/dashboard").get_data(as_text=True)


def test_the_demo_retailers_sign_in_to_the_console_with_the_printed_credentials(app):
    result = app.test_cli_runner().invoke(args=["hub", "demo", "--json"])
    assert result.exit_code == 0, result.output
    demo = json.loads(result.output)
    for retailer in demo["retailers"]:
        browser = app.test_client()
        response = submit(
            browser,
            "/console/login",
            {"email": retailer["console_email"], "password": retailer["console_password"]},
        )
        assert response.status_code == 302, retailer["name"]
        assert retailer["name"] in browser.get("/console").get_data(as_text=True)
