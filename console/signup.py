"""The open sign-up page (HUB_OPEN_SIGNUP): anyone opens a retailer by proving an email address.

The page only asks; network/partners/onboarding.py decides. Whatever the email's story (new, a
sign-up never activated, an account already), the answer is the same page and an email to that
address, so the page tells nobody whether an account exists. Following the emailed link is the
console's activation (console/auth.py): choose a password, land in the console as the owner.
"""

from __future__ import annotations

import logging

from flask import abort, current_app, render_template
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length

from console.blueprint import console
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.mail import MailNotSent
from network.partners import invites, onboarding
from network.partners.onboarding import SignupThrottled
from vendor_portal.web.common import client_ip, form_errors, mailer, public_url

log = logging.getLogger(__name__)


class SignupForm(FlaskForm):
    organization_name = StringField("Your company", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Your work email", validators=[DataRequired(), Length(max=254)])


def _open() -> None:
    # Off, the page does not exist: 404, as for any address the hub does not serve.
    if not current_app.config.get("HUB_OPEN_SIGNUP"):
        abort(404)


@console.get("/signup")
def signup():
    _open()
    return render_template("console/signup.html", form=SignupForm())


@console.post("/signup")
def signup_post():
    _open()
    form = SignupForm()
    if not form.validate():
        return render_template("console/signup.html", form=form), 422
    now = utcnow()
    ttl = invites.invite_ttl(current_app.config.get("HUB_INVITE_TTL_DAYS"))
    try:
        with transaction(db.session):
            message = onboarding.sign_up(
                db.session,
                name=form.organization_name.data,
                email=form.email.data,
                ip=client_ip(),
                public_url=public_url(),
                ttl=ttl,
                now=now,
            )
    except InvalidInput as exc:
        form_errors(form, exc, fields={"name": "organization_name", "owner_email": "email"})
        return render_template("console/signup.html", form=form), 422
    except SignupThrottled as exc:
        form.form_errors.append(exc.detail)
        body = render_template("console/signup.html", form=form)
        return body, 429, {"Retry-After": str(exc.retry_after)}
    # Committed; only now does the email leave. A failure says so whatever the email's story.
    try:
        mailer().send(message)
    except MailNotSent:
        log.exception("sign-up email not sent")
        form.form_errors.append("The email could not be sent. Try again in a few minutes.")
        return render_template("console/signup.html", form=form), 503
    return render_template("console/signup_sent.html", email=message.to, expires_at=now + ttl)
