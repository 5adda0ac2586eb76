"""Console sign-in, sign-out and activation (the owner's first password, from the emailed link)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for

from console.blueprint import console
from console.session import sign_in_session
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.partners import accounts
from network.partners.accounts import Throttled, TokenGone, TokenNotFound
from network.partners.models import RETAILER
from vendor_portal.web.common import client_ip, form_errors, safe_next
from vendor_portal.web.forms import LoginForm, ResetForm


def _next(target: str | None) -> str:
    return safe_next(target, prefix="/console/", home="console.home")


@console.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        if g.console_user is not None:
            return redirect(_next(request.args.get("next")))
        form.next.data = request.args.get("next", "")
        return render_template("console/login.html", form=form)
    if not form.validate():
        return render_template("console/login.html", form=form), 422
    try:
        with transaction(db.session):
            user = accounts.sign_in(
                db.session,
                email=form.email.data,
                password=form.password.data,
                ip=client_ip(),
                now=utcnow(),
                kind=RETAILER,
            )
    except Throttled as exc:
        form.form_errors.append(exc.detail)
        body = render_template("console/login.html", form=form)
        return body, 429, {"Retry-After": str(exc.retry_after)}
    if user is None:
        form.form_errors.append("The email or the password is wrong.")
        return render_template("console/login.html", form=form), 401
    sign_in_session(user.id, user.session_version)
    return redirect(_next(form.next.data))


@console.post("/logout")
def logout():
    if g.console_user is not None:
        with transaction(db.session):
            accounts.end_sessions(db.session, user_id=g.console_user.id)
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("console.login"))


@console.route("/activate/<token>", methods=["GET", "POST"])
def activate(token: str):
    """The owner's activation link: choose a password, and be signed in to the console."""
    form = ResetForm()
    reset = accounts.open_password_reset(db.session, token, now=utcnow())  # a dead link shows its page
    if reset.user.organization.kind != RETAILER:
        raise TokenNotFound("This link is not a console link. Vendors activate in the portal.")
    if request.method == "GET":
        return render_template("console/activate.html", form=form, token=token, email=reset.user.email)
    if not form.validate():
        return render_template("console/activate.html", form=form, token=token, email=reset.user.email), 422
    try:
        with transaction(db.session):
            user = accounts.reset_password(db.session, token, password=form.password.data, now=utcnow())
    except InvalidInput as exc:
        form_errors(form, exc)
        return render_template("console/activate.html", form=form, token=token, email=reset.user.email), 422
    sign_in_session(user.id, user.session_version)
    flash("Your account is active. Welcome to the Dropnet console.", "info")
    return redirect(url_for("console.home"))


@console.errorhandler(TokenNotFound)
@console.errorhandler(TokenGone)
def dead_link(error: TokenNotFound | TokenGone):
    return render_template("console/dead_link.html", title=error.title, detail=error.detail), error.status
