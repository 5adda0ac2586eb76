"""The console's Vendors page (terms beside the scorecard, the terms form) and its audit log.

Changing terms is an owner's or an admin's (network/partners/roles.py), checked on every POST:
a viewer or an operator who posts the form directly gets a 403 page and nothing changes.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange

from console.blueprint import console
from console.session import login_required, retailer_id
from network.availability.terms import change_terms
from network.clock import utcnow
from network.console_views.scorecards import scorecards
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.partners import audit, roles
from network.partners import services as partners
from network.partners.audit import Actor
from vendor_portal.web.common import form_errors

WINDOWS = (30, 90)
AUDIT_ROWS = 100
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


def _may_manage() -> bool:
    return roles.may(g.console_user.role, roles.MANAGE)


@console.get("/vendors")
@login_required
def vendors():
    now = utcnow()
    windows = {
        days: scorecards(db.session, retailer_id=retailer_id(), days=days, now=now) for days in WINDOWS
    }
    rows = [
        (card, {days: {c.connection_id: c for c in windows[days]}[card.connection_id] for days in WINDOWS})
        for card in windows[WINDOWS[0]]
    ]
    return render_template("console/vendors.html", rows=rows, windows=WINDOWS, may_manage=_may_manage())


@console.route("/vendors/<int:connection_id>", methods=["GET", "POST"])
@login_required
def vendor_terms(connection_id: int):
    # Another retailer's connection is a 404 (NotFound), before any role check says it exists.
    conn = partners.get_connection(db.session, connection_id, org_id=retailer_id())
    if request.method == "POST":
        roles.require(g.console_user.role, roles.MANAGE)
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
                    actor=Actor(user_id=g.console_user.id),
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
        "console/vendor_terms.html", conn=conn, form=form, may_manage=_may_manage(), vendor=conn.vendor.name
    )
    return page, status


@console.get("/audit-log")
@login_required
def audit_log():
    """The newest entries of the retailer's audit log (the API pages through all of them)."""
    return render_template(
        "console/audit_log.html", entries=audit.latest(db.session, org_id=retailer_id(), limit=AUDIT_ROWS)
    )
