"""Invites: the retailer API and CLI that send them, every way a link can be dead, existing vendors
accepting, colleagues joining, and mail without SMTP_URL."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest

from network.app import create_app
from network.clock import utcnow
from network.db import transaction
from network.partners import invites
from network.partners.models import Connection, Invite, Organization, User
from tests.builders import make_org
from tests.portal.conftest import PASSWORD, fresh, link_in, make_vendor_user, page_token, sign_in, submit

SIGNUP = {
    "organization_name": "Fresh Vendor",
    "name": "Fay",
    "email": "fay@fresh.example",
    "password": "Fresh-vendor-password-1",
    "confirm": "Fresh-vendor-password-1",
}


@pytest.fixture
def retailer(session, client):
    return make_org(session, client, "retailer")


def invite_link(retailer, mailbox, address: str = "owner@vendor.example", **body) -> str:
    response = retailer.api.post(
        "/api/v1/vendor-invites", json={"email": address, "vendor_name": "Vendor", **body}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return link_in(mailbox.last_to(address))


def count(session, model) -> int:
    fresh(session)
    return session.query(model).count()


# --- the retailer API -------------------------------------------------------------------------


def test_invites_are_listed_and_revoked_by_the_retailer_that_sent_them(session, client, retailer, mailbox):
    link = invite_link(retailer, mailbox)
    (invite,) = retailer.api.get("/api/v1/vendor-invites").get_json()["data"]
    assert invite["status"] == "pending"
    assert set(invite) >= {"id", "email", "vendor_name", "terms", "created_at", "expires_at"}

    other = make_org(session, client, "retailer")
    assert other.api.get("/api/v1/vendor-invites").get_json()["data"] == []
    assert other.api.delete(f"/api/v1/vendor-invites/{invite['id']}").status_code == 404

    assert retailer.api.delete(f"/api/v1/vendor-invites/{invite['id']}").status_code == 204
    assert retailer.api.delete(f"/api/v1/vendor-invites/{invite['id']}").status_code == 204
    (revoked,) = retailer.api.get("/api/v1/vendor-invites").get_json()["data"]
    assert revoked["status"] == "revoked"

    page = client.get(link)
    assert page.status_code == 410
    assert "withdrew this invite" in page.get_data(as_text=True)
    assert 'name="password"' not in page.get_data(as_text=True)


def test_invites_expire_after_seven_days_by_default(retailer, mailbox):
    created = retailer.api.post(
        "/api/v1/vendor-invites", json={"email": "a@vendor.example", "vendor_name": "A"}
    ).get_json()
    lifetime = dt.datetime.fromisoformat(created["expires_at"]) - dt.datetime.fromisoformat(
        created["created_at"]
    )
    assert lifetime == dt.timedelta(days=7)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "not-an-email", "vendor_name": "V"}, "email"),
        ({"email": "a@vendor.example", "vendor_name": ""}, "vendor_name"),
        ({"email": "a@vendor.example"}, "vendor_name"),
        ({"email": "a@vendor.example", "vendor_name": "V", "terms": {"ack_sla_hours": 0}}, "terms"),
        ({"email": "a@vendor.example", "vendor_name": "V", "terms": {"status": "ended"}}, "terms"),
        ({"email": "a@vendor.example", "vendor_name": "V", "token": "mine"}, "token"),
    ],
)
def test_bad_invites_answer_422_and_send_nothing(session, retailer, mailbox, body, field):
    response = retailer.api.post("/api/v1/vendor-invites", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert mailbox.messages == []
    assert count(session, Invite) == 0


def test_only_a_retailer_token_with_partners_manage_may_invite(session, client, network):
    vendor = network.vendor
    assert (
        vendor.api.post(
            "/api/v1/vendor-invites", json={"email": "a@b.example", "vendor_name": "V"}
        ).status_code
        == 403
    )
    limited = make_org(session, client, "retailer", scopes=["catalog:read"])
    assert limited.api.get("/api/v1/vendor-invites").status_code == 403
    assert client.get("/api/v1/vendor-invites").status_code == 401


def test_accepting_an_already_accepted_invite_cannot_be_revoked(client, retailer, mailbox):
    link = invite_link(retailer, mailbox)
    assert submit(client, link + "/signup", SIGNUP, page=link).status_code == 302
    (invite,) = retailer.api.get("/api/v1/vendor-invites").get_json()["data"]
    response = retailer.api.delete(f"/api/v1/vendor-invites/{invite['id']}")
    assert response.status_code == 409


# --- dead links -------------------------------------------------------------------------------


def test_a_forged_link_answers_404_with_no_form(client):
    response = client.get("/portal/invites/forged-token-0000000000000000000000000")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "This invite link is not valid" in page
    assert "<form" not in page.split("<main>")[1]


def test_an_expired_link_answers_410_with_no_form(app, session, client, retailer, mailbox):
    link = invite_link(retailer, mailbox)
    with transaction(session):
        session.query(Invite).update({Invite.expires_at: utcnow() - dt.timedelta(seconds=1)})
    response = client.get(link)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert "<form" not in response.get_data(as_text=True).split("<main>")[1]
    # Posting the sign-up form of a dead link creates nothing either.
    posted = client.post(link + "/signup", data={"csrf_token": page_token(client), **SIGNUP})
    assert posted.status_code == 410
    assert count(session, Organization) == 1  # the retailer only


def test_a_used_link_answers_410_and_a_second_signup_creates_nothing(session, client, app, retailer, mailbox):
    link = invite_link(retailer, mailbox)
    assert submit(client, link + "/signup", SIGNUP, page=link).status_code == 302
    late = app.test_client()
    token = page_token(late)
    again = late.post(link + "/signup", data={"csrf_token": token, **SIGNUP, "email": "second@fresh.example"})
    assert again.status_code == 410
    assert "already accepted" in again.get_data(as_text=True)
    assert count(session, User) == 1
    assert count(session, Connection) == 1


def test_the_signup_form_of_a_link_needs_the_csrf_token(session, client, retailer, mailbox):
    link = invite_link(retailer, mailbox)
    response = client.post(link + "/signup", data=SIGNUP)
    assert response.status_code == 400
    assert count(session, User) == 0
    assert client.get(link).status_code == 200  # still usable


# --- signing up -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, reason",
    [
        ("Short-1", "use at least 12 characters"),
        ("alllowercaseletters", "mix at least two kinds of characters"),
        ("fay@fresh.example", "do not use your email address"),
    ],
)
def test_a_weak_password_is_refused_with_the_reason_and_creates_nothing(
    session, client, retailer, mailbox, password, reason
):
    link = invite_link(retailer, mailbox)
    response = submit(
        client, link + "/signup", {**SIGNUP, "password": password, "confirm": password}, page=link
    )
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    assert count(session, Organization) == 1
    assert client.get(link).status_code == 200


def test_signup_with_an_email_that_already_has_an_account_says_so(session, client, retailer, mailbox):
    existing = make_vendor_user(session)
    link = invite_link(retailer, mailbox)
    response = submit(client, link + "/signup", {**SIGNUP, "email": existing.email}, page=link)
    assert response.status_code == 422
    assert "already registered" in response.get_data(as_text=True)


def test_an_existing_vendor_user_signs_in_on_the_invite_page_and_accepts(session, client, retailer, mailbox):
    user = make_vendor_user(session)
    link = invite_link(retailer, mailbox, terms={"routing_priority": 3})
    wrong = submit(client, link + "/login", {"email": user.email, "password": "Wrong-password-1"}, page=link)
    assert wrong.status_code == 401
    assert count(session, Connection) == 0

    ok = submit(client, link + "/login", {"email": user.email, "password": PASSWORD}, page=link)
    assert ok.status_code == 302
    fresh(session)
    conn = session.query(Connection).one()
    assert (conn.vendor_id, conn.retailer_id, conn.routing_priority) == (user.org_id, retailer.id, 3)
    assert retailer.name in client.get("/portal/dashboard").get_data(as_text=True)


def test_a_signed_in_vendor_user_accepts_with_one_button(session, client, retailer, mailbox):
    user = make_vendor_user(session)
    sign_in(client, user)
    link = invite_link(retailer, mailbox)
    page = client.get(link).get_data(as_text=True)
    assert f"Accept as {user.org_name}" in page
    assert submit(client, link + "/accept", {}, page=link).status_code == 302
    fresh(session)
    assert session.query(Connection).one().vendor_id == user.org_id


def test_accepting_reactivates_an_ended_connection_with_the_new_terms(session, client, network, mailbox):
    retailer, vendor = network.retailer, network.vendor
    user = make_vendor_user(session, org_id=vendor.id)
    with transaction(session):
        conn = session.query(Connection).filter_by(retailer_id=retailer.id, vendor_id=vendor.id).one()
        conn.status = "ended"
    link = invite_link(retailer, mailbox, terms={"ship_sla_hours": 24})
    assert (
        submit(client, link + "/login", {"email": user.email, "password": PASSWORD}, page=link).status_code
        == 302
    )
    fresh(session)
    conn = session.query(Connection).filter_by(retailer_id=retailer.id, vendor_id=vendor.id).one()
    assert (conn.status, conn.ship_sla_hours) == ("active", 24)


# --- colleagues -------------------------------------------------------------------------------


def test_a_vendor_user_invites_a_colleague_who_joins_the_same_vendor(
    app, session, client, signed_in, mailbox
):
    response = submit(
        client, "/portal/team/invites", {"email": "colleague@vendor.example"}, page="/portal/team"
    )
    assert response.status_code == 302
    assert "colleague@vendor.example" in client.get("/portal/team").get_data(as_text=True)
    message = mailbox.last_to("colleague@vendor.example")
    assert signed_in.org_name in message["Subject"]
    link = link_in(message)

    colleague = app.test_client()
    page = colleague.get(link).get_data(as_text=True)
    assert f"Join {signed_in.org_name}" in page
    joined = submit(
        colleague,
        link + "/colleague",
        {
            "name": "Cole",
            "email": "colleague@vendor.example",
            "password": "Colleague-pass-77",
            "confirm": "Colleague-pass-77",
        },
        page=link,
    )
    assert joined.status_code == 302
    fresh(session)
    assert session.query(User).filter_by(email="colleague@vendor.example").one().org_id == signed_in.org_id
    assert "colleague@vendor.example" in client.get("/portal/team").get_data(as_text=True)
    assert colleague.get(link).status_code == 410


def test_a_colleague_invite_can_be_withdrawn(session, client, signed_in, mailbox):
    submit(client, "/portal/team/invites", {"email": "late@vendor.example"}, page="/portal/team")
    link = link_in(mailbox.last_to("late@vendor.example"))
    invite_id = session.query(Invite).one().id
    assert (
        submit(client, f"/portal/team/invites/{invite_id}/revoke", {}, page="/portal/team").status_code == 302
    )
    assert client.get(link).status_code == 410


def test_inviting_a_colleague_who_already_has_an_account_is_refused(session, client, signed_in, mailbox):
    response = submit(client, "/portal/team/invites", {"email": signed_in.email}, page="/portal/team")
    assert response.status_code == 422
    assert "already has an account" in response.get_data(as_text=True)
    assert mailbox.messages == []


# --- CLI and mail without SMTP ----------------------------------------------------------------


def test_the_cli_invites_a_vendor_by_email(app, retailer, mailbox):
    result = app.test_cli_runner().invoke(
        args=[
            "hub",
            "invite",
            "--retailer",
            str(retailer.id),
            "--email",
            "cli@vendor.example",
            "--vendor-name",
            "CLI Vendor",
            "--term",
            "ack_sla_hours=6",
        ]
    )
    assert result.exit_code == 0, result.output
    message = mailbox.last_to("cli@vendor.example")
    assert "CLI Vendor" in message["Subject"]
    assert "6 hours" in message.get_body(preferencelist=("plain",)).get_content()


def test_the_cli_explains_a_bad_invite(app, retailer, mailbox):
    result = app.test_cli_runner().invoke(
        args=["hub", "invite", "--retailer", str(retailer.id), "--email", "nope", "--vendor-name", "X"]
    )
    assert result.exit_code != 0
    assert "email" in result.output
    assert mailbox.messages == []


def test_without_smtp_url_emails_go_to_the_instance_outbox_and_the_log(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("HUB_INVITE_TTL_DAYS", "3")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
            "PUBLIC_URL": "http://hub.test",
        }
    )
    from network.extensions import db

    with app.app_context():
        db.create_all()
        with transaction(db.session):
            from network.partners import services as partners

            retailer = partners.create_organization(db.session, kind="retailer", name="Shop", now=utcnow())
        with caplog.at_level("INFO", logger="network.mail"):
            result = app.test_cli_runner().invoke(
                args=[
                    "hub",
                    "invite",
                    "--retailer",
                    str(retailer.id),
                    "--email",
                    "v@vendor.example",
                    "--vendor-name",
                    "V",
                ]
            )
        assert result.exit_code == 0, result.output
        (path,) = (tmp_path / "instance" / "outbox").glob("*.eml")
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["To"] == "v@vendor.example"
        assert "/portal/invites/" in caplog.text
        invite = db.session.query(Invite).one()
        assert invite.expires_at - invite.created_at == dt.timedelta(days=3)
        db.session.remove()
        db.engine.dispose()


def test_an_invite_token_is_stored_only_as_its_hash(session, retailer, mailbox):
    link = invite_link(retailer, mailbox)
    token = link.rsplit("/", 1)[1]
    stored = session.query(Invite).one()
    assert token not in stored.token_hash
    assert invites.open_invite(session, token, now=utcnow()).id == stored.id


def test_a_repeated_invite_with_the_same_idempotency_key_creates_and_emails_once(session, retailer, mailbox):
    body = {"email": "once@vendor.example", "vendor_name": "Once"}
    headers = {"Idempotency-Key": "invite-once-1"}
    first = retailer.api.post("/api/v1/vendor-invites", json=body, headers=headers)
    again = retailer.api.post("/api/v1/vendor-invites", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json()["email_sent"] is True
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(session, Invite) == 1
    assert len(mailbox.to("once@vendor.example")) == 1
    other = retailer.api.post(
        "/api/v1/vendor-invites", json={**body, "vendor_name": "Other"}, headers=headers
    )
    assert other.status_code == 409


def test_an_invite_whose_email_cannot_be_sent_says_so(app, session, retailer, mailbox, smtp_server):
    from network.mail import Mailer

    # Point the hub at a closed port: the invite is created, and the answer says the email did not leave.
    working = app.extensions["hub_mailer"]
    app.extensions["hub_mailer"] = Mailer(
        smtp_url="smtp://127.0.0.1:9", outbox_dir=working.outbox_dir, sender=working.sender
    )
    try:
        response = retailer.api.post(
            "/api/v1/vendor-invites", json={"email": "lost@vendor.example", "vendor_name": "L"}
        )
    finally:
        app.extensions["hub_mailer"] = working
    assert response.status_code == 201
    assert response.get_json()["email_sent"] is False
    assert count(session, Invite) == 1


def test_another_vendor_cannot_withdraw_a_colleague_invite(app, session, client, signed_in, mailbox):
    submit(client, "/portal/team/invites", {"email": "mine@vendor.example"}, page="/portal/team")
    invite_id = session.query(Invite).one().id
    other = app.test_client()
    sign_in(other, make_vendor_user(session))
    assert "mine@vendor.example" not in other.get("/portal/team").get_data(as_text=True)
    response = submit(other, f"/portal/team/invites/{invite_id}/revoke", {}, page="/portal/team")
    assert response.status_code == 404
    assert client.get(link_in(mailbox.last_to("mine@vendor.example"))).status_code == 200
