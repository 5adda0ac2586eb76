"""The console's Vendors page (terms beside the scorecard, the terms form, vendor invites) and its
audit log.

Changing terms and inviting vendors (invite, resend, revoke) are an owner's or an admin's
(network/partners/roles.py), checked on every POST: a viewer or an operator who posts a form
directly gets a 403 page and nothing changes. Another retailer's invite or connection is a 404.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from console.blueprint import console
from console.session import actor, login_required, may, require, retailer_id
from network.availability.terms import change_terms
from network.clock import utcnow
from network.console_views.scorecards import scorecards
from network.db import transaction
from network.errors import Conflict, InvalidInput
from network.extensions import db
from network.partners import audit, invites, roles
from network.partners import services as partners
from vendor_portal.web.common import before_position, form_errors, public_url, send_after_commit

WINDOWS = (30, 90)
AUDIT_ROWS = 100
INVITE_ROWS = 50
TERMS = (
    "ack_sla_hours",
    "ship_sla_hours",
    "safety_buffer",
    "stale_after_minutes",
    "routing_priority",
    "status",
)


class TermsForm(FlaskForm):
    # The same bounds as the API's PATCH /api/v1/connections/{id}.
    ack_sla_hours = IntegerField("Acknowledge within (hours)", [InputRequired(), NumberRange(1, 24 * 365)])
    ship_sla_hours = IntegerField("Ship within (hours)", [InputRequired(), NumberRange(1, 24 * 365)])
    safety_buffer = IntegerField(
        "Safety buffer (units held back)", [InputRequired(), NumberRange(0, 1_000_000)]
    )
    stale_after_minutes = IntegerField(
        "Feed counts as stale after (minutes)", [InputRequired(), NumberRange(1, 60 * 24 * 365)]
    )
    routing_priority = IntegerField(
        "Routing priority", [InputRequired(), NumberRange(0, 1_000_000)], description="Lower routes first."
    )
    status = SelectField(
        "Status", choices=[SelectChoice(value, value.capitalize()) for value in ("active", "paused", "ended")]
    )


class InviteForm(FlaskForm):
    email = EmailField("The vendor's email", [DataRequired(), Length(max=254)])
    vendor_name = StringField("The vendor's name", [DataRequired(), Length(max=200)])


@console.get("/vendors")
@login_required
def vendors():
    return _vendors_page(InviteForm())


def _vendors_page(form: InviteForm, status: int = 200):
    now = utcnow()
    windows = {
        days: scorecards(db.session, retailer_id=retailer_id(), days=days, now=now) for days in WINDOWS
    }
    rows = [
        (card, {days: {c.connection_id: c for c in windows[days]}[card.connection_id] for days in WINDOWS})
        for card in windows[WINDOWS[0]]
    ]
    # Invites nobody accepted or revoked, a page at a time (?invites_after=<last id shown>).
    after = request.args.get("invites_after", "0")
    after_id = int(after) if after.isdecimal() and len(after) < 19 else 0
    pending = invites.outstanding_invites(
        db.session, retailer_id=retailer_id(), after_id=after_id, limit=INVITE_ROWS + 1
    )
    more = pending[INVITE_ROWS - 1].id if len(pending) > INVITE_ROWS else None
    page = render_template(
        "console/vendors.html",
        rows=rows,
        windows=WINDOWS,
        may_manage=may(roles.MANAGE),
        form=form,
        invites=[(invite, invites.invite_status(invite, now)) for invite in pending[:INVITE_ROWS]],
        invites_more=more,
        invites_paged=after_id > 0,
    )
    return page, status


def _ttl():
    return invites.invite_ttl(current_app.config.get("HUB_INVITE_TTL_DAYS"))


def _inviter() -> str:
    return g.console_user.name or g.console_user.email


@console.post("/vendors/invites")
@login_required
def vendor_invite():
    require(roles.MANAGE)
    form = InviteForm()
    if not form.validate():
        return _vendors_page(form, 422)
    try:
        with transaction(db.session):
            invite, token = invites.invite_vendor(
                db.session,
                retailer_id=retailer_id(),
                email=form.email.data,
                vendor_name=form.vendor_name.data,
                actor=actor(),
                ttl=_ttl(),
                now=utcnow(),
            )
            email = invites.invite_email(invite, token, public_url=public_url(), inviter=_inviter())
    except InvalidInput as exc:
        form_errors(form, exc)
        return _vendors_page(form, 422)
    if send_after_commit(email):  # committed first: the email never announces what was rolled back
        flash(f"Invite sent to {invite.email}.", "success")
    return redirect(url_for("console.vendors"))


@console.post("/vendors/invites/<int:invite_id>/resend")
@login_required
def vendor_invite_resend(invite_id: int):
    # Another retailer's invite is a 404 (NotFound), before any role check says it exists.
    invites.get_invite(db.session, invite_id, org_id=retailer_id())
    require(roles.MANAGE)
    try:
        with transaction(db.session):
            invite, token = invites.resend_invite(
                db.session,
                invite_id,
                retailer_id=retailer_id(),
                actor=actor(),
                ttl=_ttl(),
                now=utcnow(),
            )
            email = invites.invite_email(invite, token, public_url=public_url(), inviter=_inviter())
    except Conflict as exc:
        flash(f"Not sent: {exc.detail}.", "error")
        return redirect(url_for("console.vendors"))
    if send_after_commit(email):
        flash(f"Invite sent again to {invite.email}; the earlier link no longer works.", "success")
    return redirect(url_for("console.vendors"))


@console.post("/vendors/invites/<int:invite_id>/revoke")
@login_required
def vendor_invite_revoke(invite_id: int):
    invites.get_invite(db.session, invite_id, org_id=retailer_id())
    require(roles.MANAGE)
    try:
        with transaction(db.session):
            invite = invites.revoke_vendor_invite(
                db.session,
                invite_id,
                retailer_id=retailer_id(),
                actor=actor(),
                now=utcnow(),
            )
    except Conflict as exc:
        flash(f"Not revoked: {exc.detail}.", "error")
        return redirect(url_for("console.vendors"))
    flash(f"The invite to {invite.email} is withdrawn; its link no longer works.", "info")
    return redirect(url_for("console.vendors"))


@console.route("/vendors/<int:connection_id>", methods=["GET", "POST"])
@login_required
def vendor_terms(connection_id: int):
    # Another retailer's connection is a 404 (NotFound), before any role check says it exists.
    conn = partners.get_connection(db.session, connection_id, org_id=retailer_id())
    if request.method == "POST":
        require(roles.MANAGE)
    form = TermsForm(obj=conn) if request.method == "GET" else TermsForm()
    if request.method == "POST" and form.validate():
        terms = {name: getattr(form, name).data for name in TERMS}
        try:
            with transaction(db.session):
                change_terms(
                    db.session,
                    connection_id,
                    retailer_id=retailer_id(),
                    terms=terms,
                    actor=actor(),
                    now=utcnow(),
                )
        except InvalidInput as exc:
            db.session.rollback()
            form_errors(form, exc)
        else:
            flash(f"The terms with {conn.vendor.name} are saved.", "success")
            return redirect(url_for("console.vendors"))
    status = 422 if request.method == "POST" else 200
    page = render_template(
        "console/vendor_terms.html",
        conn=conn,
        form=form,
        may_manage=may(roles.MANAGE),
        vendor=conn.vendor.name,
    )
    return page, status


@console.get("/audit-log")
@login_required
def audit_log():
    """The retailer's audit log, newest first, a page at a time."""
    log = audit.log_page(db.session, org_id=retailer_id(), before_id=before_position(), limit=AUDIT_ROWS)
    return render_template("console/audit_log.html", log=log)
