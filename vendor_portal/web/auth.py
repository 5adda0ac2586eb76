"""Sign-in, sign-out, password reset and the invite pages (new vendor, existing user, colleague)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.partners import accounts, invites
from network.partners.accounts import Throttled, TokenGone, TokenNotFound
from network.partners.models import VENDOR
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import (
    client_ip,
    form_errors,
    public_url,
    safe_next,
    send_after_commit,
    sign_in_session,
    sign_out_session,
)
from vendor_portal.web.forms import (
    ColleagueSignupForm,
    LoginForm,
    ResetForm,
    ResetRequestForm,
    SignupForm,
)


@portal.get("/")
def index():
    return redirect(url_for("portal.dashboard" if g.user else "portal.login"))


@portal.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        if g.user is not None:
            return redirect(safe_next(request.args.get("next")))
        form.next.data = request.args.get("next", "")
        return render_template("portal/login.html", form=form)
    if not form.validate():
        return render_template("portal/login.html", form=form), 422
    try:
        with transaction(db.session):
            user = accounts.sign_in(
                db.session, email=form.email.data, password=form.password.data, ip=client_ip(), now=utcnow()
            )
    except Throttled as exc:
        return _throttled(form, exc)
    if user is None:
        form.form_errors.append("The email or the password is wrong.")
        return render_template("portal/login.html", form=form), 401
    sign_in_session(user.id, user.session_version)
    return redirect(safe_next(form.next.data))


def _throttled(form: LoginForm, exc: Throttled):
    form.form_errors.append(exc.detail)
    body = render_template("portal/login.html", form=form, throttled=True)
    return body, 429, {"Retry-After": str(exc.retry_after)}


@portal.post("/logout")
def logout():
    if g.user is not None:
        with transaction(db.session):
            accounts.end_sessions(db.session, user_id=g.user.id)
    sign_out_session()
    flash("You are signed out.", "info")
    return redirect(url_for("portal.login"))


@portal.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ResetRequestForm()
    if request.method == "GET":
        return render_template("portal/forgot.html", form=form)
    if not form.validate():
        return render_template("portal/forgot.html", form=form), 422
    with transaction(db.session):
        issued = accounts.start_password_reset(db.session, email=form.email.data, now=utcnow())
    if issued is not None:
        user, token = issued
        send_after_commit(accounts.reset_email(user, token, public_url=public_url()))
    # The same answer whether or not the address has an account: the page tells no one who is a user.
    flash(
        f"If {form.email.data.strip()} has a portal account, a link to choose a new password is on its way. "
        "It works for one hour.",
        "info",
    )
    return redirect(url_for("portal.login"))


@portal.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetForm()
    if request.method == "GET":
        accounts.open_password_reset(db.session, token, now=utcnow())  # a dead link shows its page
        return render_template("portal/reset.html", form=form, token=token)
    if not form.validate():
        return render_template("portal/reset.html", form=form, token=token), 422
    try:
        with transaction(db.session):
            user = accounts.reset_password(db.session, token, password=form.password.data, now=utcnow())
    except InvalidInput as exc:
        form_errors(form, exc)
        return render_template("portal/reset.html", form=form, token=token), 422
    sign_in_session(user.id, user.session_version)
    flash("Your password is changed. Every other session of yours is signed out.", "info")
    return redirect(url_for("portal.dashboard"))


@portal.errorhandler(TokenNotFound)
@portal.errorhandler(TokenGone)
def dead_link(error: TokenNotFound | TokenGone):
    return render_template("portal/dead_link.html", title=error.title, detail=error.detail), error.status


# --- invites ---------------------------------------------------------------------------------


def _invite_page(token: str, *, signup=None, login_form=None, colleague_form=None, status: int = 200):
    invite = invites.open_invite(db.session, token, now=utcnow())
    colleague = invite.retailer_id is None
    if colleague:  # a retailer's colleague joins in the console, not here (raises TokenNotFound)
        invites.open_colleague_invite(db.session, token, kind=VENDOR, now=utcnow())
    if colleague:
        colleague_form = colleague_form or ColleagueSignupForm(email=invite.email)
    else:
        signup = signup or SignupForm(organization_name=invite.vendor_name, email=invite.email)
        login_form = login_form or LoginForm(email=invite.email)
    page = render_template(
        "portal/invite.html",
        invite=invite,
        token=token,
        inviter=invites.inviter_name(invite),
        colleague=colleague,
        terms=invites.connection_terms(invite.terms),
        signup=signup,
        login_form=login_form,
        colleague_form=colleague_form,
    )
    return page, status


@portal.get("/invites/<token>")
def invite(token: str):
    return _invite_page(token)


@portal.post("/invites/<token>/signup")
def invite_signup(token: str):
    form = SignupForm()
    if not form.validate():
        return _invite_page(token, signup=form, status=422)
    try:
        with transaction(db.session):
            user = invites.accept_as_new_vendor(
                db.session,
                token,
                organization_name=form.organization_name.data,
                name=form.name.data or "",
                email=form.email.data,
                password=form.password.data,
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return _invite_page(token, signup=form, status=422)
    sign_in_session(user.id, user.session_version)
    flash(f"Welcome to Dropnet. {user.organization.name} is connected.", "info")
    return redirect(url_for("portal.dashboard"))


@portal.post("/invites/<token>/colleague")
def invite_colleague_signup(token: str):
    form = ColleagueSignupForm()
    if not form.validate():
        return _invite_page(token, colleague_form=form, status=422)
    try:
        with transaction(db.session):
            user = invites.accept_as_colleague(
                db.session,
                token,
                name=form.name.data or "",
                email=form.email.data,
                password=form.password.data,
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return _invite_page(token, colleague_form=form, status=422)
    sign_in_session(user.id, user.session_version)
    flash(f"Welcome to {user.organization.name} on Dropnet.", "info")
    return redirect(url_for("portal.dashboard"))


@portal.post("/invites/<token>/login")
def invite_login(token: str):
    """An existing vendor user signs in and accepts in one step."""
    form = LoginForm()
    invites.open_invite(db.session, token, now=utcnow())  # a dead link never reaches the password check
    if not form.validate():
        return _invite_page(token, login_form=form, status=422)
    try:
        with transaction(db.session):
            user = accounts.sign_in(
                db.session, email=form.email.data, password=form.password.data, ip=client_ip(), now=utcnow()
            )
    except Throttled as exc:
        form.form_errors.append(exc.detail)
        return _invite_page(token, login_form=form, status=429)
    if user is None:
        form.form_errors.append("The email or the password is wrong.")
        return _invite_page(token, login_form=form, status=401)
    sign_in_session(user.id, user.session_version)
    return _accept(token, user.id)


@portal.post("/invites/<token>/accept")
def invite_accept(token: str):
    """A signed-in vendor user accepts for its organization."""
    if g.user is None:
        return redirect(url_for("portal.invite", token=token))
    return _accept(token, g.user.id)


def _accept(token: str, user_id: int):
    with transaction(db.session):
        connection = invites.accept_as_member(db.session, token, user_id=user_id, now=utcnow())
        retailer = connection.retailer.name
    flash(f"You are connected with {retailer}.", "info")
    return redirect(url_for("portal.dashboard"))
