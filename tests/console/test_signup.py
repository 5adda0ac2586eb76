"""Open sign-up (HUB_OPEN_SIGNUP): a stranger opens a retailer by proving an email, over real SMTP.

Off by default (404). On: the form → the activation email → the password → the console as owner.
Nothing is usable before the link is followed; a repeated sign-up makes no second organization;
the page answers the same whether the email has an account or not; sign-ups are throttled per
address and per email; bad input is a plain message that changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
import sqlalchemy as sa

from network.clock import utcnow
from network.db import transaction
from network.jobs import prune_abandoned_signups
from network.partners import services as partners
from network.partners.audit import AuditEntry
from network.partners.models import Organization, PasswordReset, User
from tests.portal.conftest import PASSWORD, fresh, link_in, make_vendor_user, page_token, submit

EMAIL = "founder@newshop.example"


@pytest.fixture
def open_signup(app):
    app.config["HUB_OPEN_SIGNUP"] = True
    return app


def sign_up(client, name: str = "New Shop", email: str = EMAIL, ip: str = "203.0.113.7"):
    return submit(
        client,
        "/console/signup",
        {"organization_name": name, "email": email},
        environ_base={"REMOTE_ADDR": ip},
    )


def activation_path(mailbox, email: str = EMAIL) -> str:
    return link_in(mailbox.last_to(email), prefix="http://hub.test/console/activate/")


def activate(client, path: str, password: str = PASSWORD):
    return submit(client, path, {"password": password, "confirm": password})


def orgs_named(session, name: str) -> int:
    fresh(session)
    return session.scalar(
        sa.select(sa.func.count()).select_from(Organization).where(Organization.name == name)
    )


def retailers(session) -> int:
    fresh(session)
    return session.scalar(
        sa.select(sa.func.count()).select_from(Organization).where(Organization.kind == "retailer")
    )


def answer(response) -> str:
    """The page a visitor sees, without the link's expiry minute (which moves with the clock)."""
    return re.sub(r"until [0-9-]+ [0-9:]+ UTC", "until …", response.get_data(as_text=True))


def test_sign_up_is_off_by_default(app, client, mailbox):
    assert client.get("/console/signup").status_code == 404
    posted = submit(
        client, "/console/signup", {"organization_name": "X", "email": EMAIL}, page="/console/login"
    )
    assert posted.status_code == 404
    assert "Open one" not in client.get("/console/login").get_data(as_text=True)
    assert mailbox.messages == []


def test_sign_up_end_to_end_the_link_works_once(open_signup, client, session, mailbox):
    assert "Open one" in client.get("/console/login").get_data(as_text=True)
    sent = sign_up(client)
    assert sent.status_code == 200
    assert "Check your email" in sent.get_data(as_text=True) and EMAIL in sent.get_data(as_text=True)

    message = mailbox.last_to(EMAIL)
    assert "New Shop" in message["Subject"]
    path = activation_path(mailbox)
    # Only the token's hash is kept.
    fresh(session)
    assert (
        session.scalar(sa.select(PasswordReset.id).where(PasswordReset.token_hash == path.rsplit("/", 1)[1]))
        is None
    )
    # Nothing usable before the email is verified: nobody can sign in.
    assert submit(client, "/console/login", {"email": EMAIL, "password": PASSWORD}).status_code == 401

    landed = activate(client, path)
    assert landed.status_code == 302 and landed.headers["Location"] == "/console"
    home = client.get("/console").get_data(as_text=True)
    assert "New Shop" in home and "owner" in home
    fresh(session)
    user = session.scalar(sa.select(User).where(User.email == EMAIL))
    assert user.role == "owner" and user.organization.kind == "retailer"
    assert (
        session.scalar(sa.select(AuditEntry.action).where(AuditEntry.org_id == user.org_id))
        == "organization.signed_up"
    )

    # The link works once.
    again = app_client(client).get(path)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def app_client(client):
    return client.application.test_client()


def test_an_expired_sign_up_link_is_refused(open_signup, client, session, mailbox):
    assert sign_up(client).status_code == 200
    path = activation_path(mailbox)
    with transaction(session):
        session.execute(sa.update(PasswordReset).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    page = client.get(path)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert 'name="password"' not in page.get_data(as_text=True)
    assert client.post(path, data={"password": PASSWORD, "confirm": PASSWORD}).status_code in (400, 410)
    assert submit(client, "/console/login", {"email": EMAIL, "password": PASSWORD}).status_code == 401


def test_signing_up_twice_makes_one_organization_and_only_the_newest_link_works(
    open_signup, client, session, mailbox
):
    assert sign_up(client, name="Typo Shp").status_code == 200
    first = activation_path(mailbox)
    assert sign_up(client, name="Typo Shop").status_code == 200
    second = activation_path(mailbox)
    assert first != second
    assert retailers(session) == 1
    assert orgs_named(session, "Typo Shop") == 1  # the newest name: nobody could use the old one

    assert client.get(first).status_code == 410
    assert activate(client, second).status_code == 302
    assert "Typo Shop" in client.get("/console").get_data(as_text=True)


def test_the_answer_is_the_same_whether_the_email_has_an_account_or_not(
    open_signup, client, session, mailbox
):
    vendor = make_vendor_user(session)
    assert sign_up(client).status_code == 200
    assert activate(client, activation_path(mailbox)).status_code == 302  # an active retailer owner now
    before = retailers(session)

    new = sign_up(app_client(client), name="Another Name", email="nobody@else.example")
    for email in (vendor.email, EMAIL):
        mailbox.messages.clear()
        known = sign_up(app_client(client), name="Another Name", email=email, ip="198.51.100.9")
        assert known.status_code == new.status_code == 200
        assert answer(known) == answer(new).replace("nobody@else.example", email)
        # The owner of the address is told, and pointed at the sign-in page; no link to activate.
        message = mailbox.last_to(email)
        assert message["Subject"] == "You already have a Dropnet account"
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert "/activate/" not in text and "login" in text
    # Only the unknown address got an organization.
    assert retailers(session) == before + 1
    # The operator's or the owner's organization keeps its name.
    assert orgs_named(session, "Another Name") == 1
    assert orgs_named(session, "New Shop") == 1 and orgs_named(session, vendor.org_name) == 1


def test_an_operator_created_retailer_keeps_its_name_when_its_owner_signs_up(
    open_signup, app, client, session, mailbox
):
    result = app.test_cli_runner().invoke(
        args=["hub", "create-retailer", "--name", "Corner Shop", "--owner-email", EMAIL]
    )
    assert result.exit_code == 0, result.output
    old = activation_path(mailbox)
    assert sign_up(client, name="Someone Else's Name").status_code == 200
    assert client.get(old).status_code == 410
    assert activate(client, activation_path(mailbox)).status_code == 302
    assert "Corner Shop" in client.get("/console").get_data(as_text=True)
    assert retailers(session) == 1


def test_sign_ups_are_throttled_per_address_and_per_email(open_signup, client, session, mailbox):
    for n in range(5):
        assert sign_up(client, email=f"a{n}@shop.example", ip="192.0.2.1").status_code == 200
    refused = sign_up(client, email="a5@shop.example", ip="192.0.2.1")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many sign-ups from your address" in refused.get_data(as_text=True)
    assert mailbox.to("a5@shop.example") == []

    for n in range(3):
        assert sign_up(client, email="target@shop.example", ip=f"192.0.2.{10 + n}").status_code == 200
    flood = sign_up(client, email="target@shop.example", ip="192.0.2.99")
    assert flood.status_code == 429 and "this email" in flood.get_data(as_text=True)
    assert len(mailbox.to("target@shop.example")) == 3
    assert retailers(session) == 6


@pytest.mark.parametrize(
    ("name", "email", "message"),
    [
        ("Shop", "not-an-email", "not an email address"),
        ("Shop", "a b@shop.example", "not an email address"),
        ("   ", EMAIL, "This field is required"),
        ("x" * 201, EMAIL, "Field cannot be longer than 200 characters"),
        ("Shop", "", "This field is required"),
    ],
)
def test_bad_input_is_a_plain_message_and_changes_nothing(
    open_signup, client, session, mailbox, name, email, message
):
    refused = sign_up(client, name=name, email=email)
    assert refused.status_code == 422
    assert message in refused.get_data(as_text=True)
    assert retailers(session) == 0 and mailbox.messages == []


def test_a_sign_up_without_the_form_token_is_refused(open_signup, client, session, mailbox):
    refused = client.post("/console/signup", data={"organization_name": "Shop", "email": EMAIL})
    assert refused.status_code in (400, 422)
    assert retailers(session) == 0 and mailbox.messages == []


def test_concurrent_sign_ups_for_one_email_make_one_organization_and_three_emails(
    open_signup, app, session, mailbox
):
    """Eight requests at once, from eight addresses: the email's throttle lets exactly three through
    (one organization, then two new links for it), not one more, and no second organization."""
    count = 8
    clients = [app.test_client() for _ in range(count)]
    tokens = [page_token(c, "/console/signup") for c in clients]
    barrier = threading.Barrier(count)
    answers = [0] * count

    def ask(i: int) -> None:
        barrier.wait()
        answers[i] = (
            clients[i]
            .post(
                "/console/signup",
                data={"csrf_token": tokens[i], "organization_name": "Race Shop", "email": EMAIL},
                environ_base={"REMOTE_ADDR": f"203.0.113.{i + 1}"},
            )
            .status_code
        )

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] * 3 + [429] * 5
    assert retailers(session) == 1
    assert len(mailbox.to(EMAIL)) == 3
    fresh(session)
    live = session.scalar(
        sa.select(sa.func.count()).select_from(PasswordReset).where(PasswordReset.expires_at > utcnow())
    )
    assert live == 1  # only the newest link works


def test_the_worker_deletes_sign_ups_nobody_activated_once_their_links_are_long_dead(
    open_signup, app, client, session, mailbox
):
    def expire(email: str, ago: dt.timedelta) -> None:
        with transaction(session):
            user_id = session.scalar(sa.select(User.id).where(User.email == email))
            session.execute(
                sa.update(PasswordReset)
                .where(PasswordReset.user_id == user_id)
                .values(expires_at=utcnow() - ago)
            )

    for n, email in enumerate(("gone@a.example", "recent@a.example", "active@a.example", "client@a.example")):
        assert sign_up(client, name=f"Shop {n}", email=email, ip=f"192.0.2.{n}").status_code == 200
    assert activate(app_client(client), activation_path(mailbox, "active@a.example")).status_code == 302
    operator = app.test_cli_runner().invoke(
        args=["hub", "create-retailer", "--name", "Operator Shop", "--owner-email", "op@a.example"]
    )
    assert operator.exit_code == 0
    with transaction(session):
        org_id = session.scalar(sa.select(User.org_id).where(User.email == "client@a.example"))
        partners.create_api_client(session, org_id=org_id, now=utcnow())  # an operator's `create-client`
    for email in ("gone@a.example", "active@a.example", "client@a.example", "op@a.example"):
        expire(email, dt.timedelta(days=2))
    expire("recent@a.example", dt.timedelta(hours=1))

    prune_abandoned_signups()

    fresh(session)
    left = set(session.scalars(sa.select(Organization.name).where(Organization.kind == "retailer")))
    assert left == {"Shop 1", "Shop 2", "Shop 3", "Operator Shop"}
    assert session.scalar(sa.select(User.id).where(User.email == "gone@a.example")) is None
    # The address can sign up afresh.
    assert sign_up(client, name="Shop Again", email="gone@a.example", ip="192.0.2.50").status_code == 200
    assert activate(app_client(client), activation_path(mailbox, "gone@a.example")).status_code == 302
    assert orgs_named(session, "Shop Again") == 1
