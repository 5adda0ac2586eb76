"""Signing in and out, CSRF on every form, login throttling, session cookies and password reset."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from network.app import create_app
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.jobs import prune_login_attempts
from network.partners.models import LoginAttempt, PasswordReset
from tests.conftest import make_app
from tests.portal.conftest import (
    PASSWORD,
    BrowserLikeClient,
    csrf_of,
    link_in,
    make_vendor_user,
    page_token,
    sign_in,
    submit,
)


def test_a_vendor_user_signs_in_and_sees_its_dashboard(client, vendor_user):
    response = submit(client, "/portal/login", {"email": vendor_user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/dashboard"
    page = client.get("/portal/dashboard").get_data(as_text=True)
    assert vendor_user.org_name in page
    assert "Stock health" in page


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, vendor_user):
    response = submit(client, "/portal/login", {"email": vendor_user.email, "password": "Wrong-password-1"})
    assert response.status_code == 401
    assert "The email or the password is wrong." in response.get_data(as_text=True)
    unknown = submit(client, "/portal/login", {"email": "nobody@vendor.example", "password": PASSWORD})
    assert unknown.status_code == 401
    assert "The email or the password is wrong." in unknown.get_data(as_text=True)
    assert client.get("/portal/dashboard").status_code == 302


def test_pages_send_visitors_to_sign_in_and_back_to_where_they_were_going(client, vendor_user):
    response = client.get("/portal/stock?q=lamp")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/portal/login?next=")
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/portal/stock?q=lamp"' in login_page
    back = submit(
        client,
        "/portal/login",
        {"email": vendor_user.email, "password": PASSWORD, "next": "/portal/stock?q=lamp"},
    )
    assert back.headers["Location"] == "/portal/stock?q=lamp"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/api/v1/orders",
        "javascript:x",
        "/portal/stock\r\nSet-Cookie: x=1",
        "/portal/stock\n",
        "/portal/\t",
    ],
)
def test_sign_in_never_redirects_off_the_portal(client, vendor_user, target):
    response = submit(
        client, "/portal/login", {"email": vendor_user.email, "password": PASSWORD, "next": target}
    )
    assert response.headers["Location"] == "/portal/dashboard"


def test_signing_out_ends_the_session(client, signed_in):
    token = page_token(client, "/portal/dashboard")
    assert client.post("/portal/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/portal/dashboard").status_code == 302


def test_a_copied_session_cookie_is_refused_after_signing_out(app, client, signed_in):
    copied = client.get_cookie("session").value
    token = page_token(client, "/portal/dashboard")
    assert client.post("/portal/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/portal/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/portal/login")


def test_a_nul_in_a_form_field_is_refused_with_a_page_and_records_nothing(client, session, vendor_user):
    response = submit(client, "/portal/login", {"email": vendor_user.email + "\x00", "password": PASSWORD})
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert session.query(LoginAttempt).count() == 0


def test_a_signed_in_user_with_a_control_character_in_next_goes_to_the_dashboard(client, signed_in):
    response = client.get("/portal/login?next=/portal/stock%0D%0ASet-Cookie:%20x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/dashboard"


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(client, session, vendor_user):
    response = client.post("/portal/login", data={"email": vendor_user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/portal/dashboard").status_code == 302
    assert session.query(LoginAttempt).count() == 0


def test_a_token_from_another_browser_is_refused(app, client, vendor_user):
    other = app.test_client()
    token = page_token(other)
    response = client.post(
        "/portal/login", data={"csrf_token": token, "email": vendor_user.email, "password": PASSWORD}
    )
    assert response.status_code == 400


def test_signing_out_needs_the_csrf_token_too(client, signed_in):
    assert client.post("/portal/logout").status_code == 400
    assert client.get("/portal/dashboard").status_code == 200


def test_the_session_cookie_is_httponly_and_samesite_lax(client, vendor_user):
    response = submit(client, "/portal/login", {"email": vendor_user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over http in this test


def test_the_session_cookie_is_secure_when_the_hub_is_served_over_https(tmp_path):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "PUBLIC_URL": "https://hub.example"}
    )
    client = app.test_client()
    response = client.get("/portal/login", base_url="https://hub.example")
    assert "Secure" in response.headers["Set-Cookie"]


def _fail(client, email: str, times: int) -> None:
    for _ in range(times):
        response = submit(client, "/portal/login", {"email": email, "password": "Not-the-password-9"})
        assert response.status_code == 401


def _login_from(app, address: str, email: str, password: str, **headers):
    client = app.test_client()
    token = page_token(client)
    return client.post(
        "/portal/login",
        data={"csrf_token": token, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def test_five_failures_lock_the_guessers_address_even_with_the_right_password_not_the_owner(
    app, client, vendor_user
):
    _fail(client, vendor_user.email, 5)
    response = submit(client, "/portal/login", {"email": vendor_user.email, "password": PASSWORD})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many failed sign-ins for your address" in page
    assert "Try again in 15 minutes" in page
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    # The owner, signing in from its own address, is not locked out by someone else's guesses.
    assert _login_from(app, "10.9.9.9", vendor_user.email, PASSWORD).status_code == 302


def test_twenty_failures_from_many_addresses_lock_the_account(app, vendor_user):
    for n in range(20):
        assert _login_from(app, f"10.7.0.{n}", vendor_user.email, "Not-the-password-9").status_code == 401
    response = _login_from(app, "10.9.9.9", vendor_user.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins for this account" in response.get_data(as_text=True)


def test_x_forwarded_for_is_ignored_unless_the_hub_is_told_of_its_proxies(app, session, vendor_user):
    for n in range(5):
        response = _login_from(
            app, "10.0.0.1", vendor_user.email, "nope", **{"X-Forwarded-For": f"203.0.113.{n}"}
        )
        assert response.status_code == 401
    # Five failures from 10.0.0.1 whatever the header said: that address is locked.
    assert _login_from(app, "10.0.0.1", vendor_user.email, PASSWORD).status_code == 429
    assert set(session.scalars(sa.select(LoginAttempt.ip))) == {"10.0.0.1"}


def test_behind_a_configured_proxy_each_client_has_its_own_address(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'proxy.sqlite3'}", {}, HUB_PROXY_HOPS=1)
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        user = make_vendor_user(db.session)
        for _ in range(5):
            guess = _login_from(app, "10.0.0.1", user.email, "nope", **{"X-Forwarded-For": "203.0.113.9"})
            assert guess.status_code == 401
        # The proxy's own address is shared by everyone: only the guesser's address is locked.
        assert (
            _login_from(
                app, "10.0.0.1", user.email, PASSWORD, **{"X-Forwarded-For": "203.0.113.9"}
            ).status_code
            == 429
        )
        assert (
            _login_from(
                app, "10.0.0.1", user.email, PASSWORD, **{"X-Forwarded-For": "198.51.100.7"}
            ).status_code
            == 302
        )
        db.session.remove()
        db.engine.dispose()


def test_five_failures_from_one_address_lock_the_address_whatever_the_accounts(client, session, vendor_user):
    for n in range(5):
        _fail(client, f"guess{n}@vendor.example", 1)
    response = submit(client, "/portal/login", {"email": vendor_user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins for your address" in response.get_data(as_text=True)


def test_failures_older_than_fifteen_minutes_no_longer_count(client, session, vendor_user):
    old = utcnow() - dt.timedelta(minutes=16)
    with transaction(session):
        for _ in range(5):
            session.add(LoginAttempt(email=vendor_user.email, ip="127.0.0.1", at=old, success=False))
    sign_in(client, vendor_user)


def test_sign_in_attempts_past_the_retention_are_deleted_and_the_recent_ones_still_lock(
    app, client, session, vendor_user
):
    now = utcnow()
    with transaction(session):
        for age in (dt.timedelta(days=31), dt.timedelta(days=45)):
            session.add(LoginAttempt(email=vendor_user.email, ip="10.0.0.1", at=now - age, success=True))
    _fail(client, vendor_user.email, 5)

    with app.app_context():
        prune_login_attempts()

    session.rollback()
    kept = session.scalars(sa.select(LoginAttempt.at)).all()
    assert len(kept) == 5 and all(now - at < dt.timedelta(minutes=5) for at in kept)
    response = submit(client, "/portal/login", {"email": vendor_user.email, "password": PASSWORD})
    assert response.status_code == 429


def test_a_retention_shorter_than_the_throttle_window_still_keeps_the_window(
    app, client, session, vendor_user
):
    _fail(client, vendor_user.email, 5)
    app.config["HUB_LOGIN_ATTEMPT_RETENTION_DAYS"] = 0
    with app.app_context():
        prune_login_attempts(now=utcnow() + dt.timedelta(minutes=10))

    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 5
    response = submit(client, "/portal/login", {"email": vendor_user.email, "password": PASSWORD})
    assert response.status_code == 429


def test_a_successful_sign_in_restarts_the_account_count(client, vendor_user):
    _fail(client, vendor_user.email, 4)
    sign_in(client, vendor_user)
    client.post("/portal/logout", data={"csrf_token": page_token(client, "/portal/dashboard")})
    # Four earlier failures are forgiven by the success; another four from a new address do not lock.
    other = dict(environ_base={"REMOTE_ADDR": "10.1.2.3"})
    for _ in range(4):
        token = page_token(client)
        client.post(
            "/portal/login",
            data={"csrf_token": token, "email": vendor_user.email, "password": "nope"},
            **other,
        )
    token = page_token(client)
    ok = client.post(
        "/portal/login", data={"csrf_token": token, "email": vendor_user.email, "password": PASSWORD}, **other
    )
    assert ok.status_code == 302


# --- password reset --------------------------------------------------------------------------


def test_password_reset_by_email_sets_a_new_password_and_signs_out_other_sessions(
    app, client, mailbox, vendor_user
):
    other_browser = app.test_client()
    sign_in(other_browser, vendor_user)
    assert other_browser.get("/portal/dashboard").status_code == 200

    response = submit(client, "/portal/password/forgot", {"email": vendor_user.email})
    assert response.status_code == 302
    message = mailbox.last_to(vendor_user.email)
    assert message["Subject"] == "Choose a new Dropnet password"
    assert message.get_body(preferencelist=("html",)) is not None
    link = link_in(message)
    assert link.startswith("/portal/reset/")

    weak = submit(client, link, {"password": "short", "confirm": "short"})
    assert weak.status_code == 422
    assert "use at least 12 characters" in weak.get_data(as_text=True)

    new = "Another-good-password-7"
    done = submit(client, link, {"password": new, "confirm": new})
    assert done.status_code == 302
    assert client.get("/portal/dashboard").status_code == 200
    # The other browser's session ended with the reset.
    assert other_browser.get("/portal/dashboard").status_code == 302
    # The old password no longer works, the new one does.
    fresh = app.test_client()
    assert (
        submit(fresh, "/portal/login", {"email": vendor_user.email, "password": PASSWORD}).status_code == 401
    )
    assert submit(fresh, "/portal/login", {"email": vendor_user.email, "password": new}).status_code == 302

    # The link worked once.
    again = client.get(link)
    assert again.status_code == 410
    assert "already used" in again.get_data(as_text=True)
    assert "csrf_token" not in again.get_data(as_text=True).split("<main>")[1]


def test_asking_for_a_reset_of_an_unknown_address_looks_the_same_and_sends_nothing(client, mailbox):
    response = submit(
        client, "/portal/password/forgot", {"email": "nobody@vendor.example"}, follow_redirects=True
    )
    assert "If nobody@vendor.example has a portal account" in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_reset_links_that_are_forged_or_expired_show_a_page_without_a_form(
    client, session, mailbox, vendor_user
):
    forged = client.get("/portal/reset/not-a-token-we-issued")
    assert forged.status_code == 404
    assert 'name="password"' not in forged.get_data(as_text=True)

    submit(client, "/portal/password/forgot", {"email": vendor_user.email})
    link = link_in(mailbox.last_to(vendor_user.email))
    with transaction(session):
        for reset in session.query(PasswordReset):
            reset.expires_at = utcnow() - dt.timedelta(minutes=1)
    expired = client.get(link)
    assert expired.status_code == 410
    assert "expired" in expired.get_data(as_text=True)
    assert 'name="password"' not in expired.get_data(as_text=True)
    token = csrf_of(client.get("/portal/login").get_data(as_text=True))
    posted = client.post(
        link, data={"csrf_token": token, "password": "Fine-password-12", "confirm": "Fine-password-12"}
    )
    assert posted.status_code == 410


def test_the_demo_vendors_sign_in_with_the_printed_credentials(app, session):
    from network.demo import seed_demo

    with transaction(session):
        demo = seed_demo(session, now=utcnow())
    for vendor in demo["vendors"]:
        browser = app.test_client()
        response = submit(
            browser, "/portal/login", {"email": vendor["portal_email"], "password": vendor["portal_password"]}
        )
        assert response.status_code == 302, vendor["name"]
        assert vendor["name"] in browser.get("/portal/dashboard").get_data(as_text=True)


def test_at_most_three_reset_emails_an_hour_go_to_one_account(client, mailbox, vendor_user):
    for _ in range(5):
        assert submit(client, "/portal/password/forgot", {"email": vendor_user.email}).status_code == 302
    assert len(mailbox.to(vendor_user.email)) == 3


def test_an_unknown_portal_address_answers_an_html_404(client):
    response = client.get("/portal/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_a_signed_in_user_opening_the_sign_in_page_goes_to_the_dashboard(client, signed_in):
    response = client.get("/portal/login")
    assert (response.status_code, response.headers["Location"]) == (302, "/portal/dashboard")
