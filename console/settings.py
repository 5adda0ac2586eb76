"""The console's Settings page: how the hub publishes the retailer's availability (issue 18).

Every role reads it; changing it is an owner's or an admin's (network/partners/roles.py), checked
on the POST: a viewer or an operator posting the form directly gets a 403 page and nothing changes.
The rules are network/availability/settings.py's and the audit entry network/flags/reroute.py
change_settings', as for the API's PATCH /api/v1/settings (which can also change `auto_reroute`;
this page cannot). The margin share is a percentage here (the API's 0 < x <= 1).
"""

from __future__ import annotations

import math

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import FloatField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from console.blueprint import console
from console.session import actor, login_required, may, require, retailer_id
from network.availability.models import FIXED, PREDICTIVE
from network.availability.settings import MAX_CANCELLATION_COST, availability_settings
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.flags import reroute
from network.partners import roles
from vendor_portal.web.common import form_errors

MODELS = {
    FIXED: "Fixed: each vendor's count as it stands",
    PREDICTIVE: "Predictive: less what the vendor will probably have sold elsewhere",
}


def _amount(form: FlaskForm, field: FloatField) -> None:
    if field.data is not None and not (
        math.isfinite(field.data) and 0 <= field.data <= MAX_CANCELLATION_COST
    ):
        raise ValidationError(f"Enter an amount from 0 to {MAX_CANCELLATION_COST:,.0f}.")


def _percent(form: FlaskForm, field: FloatField) -> None:
    if field.data is not None and not (math.isfinite(field.data) and 0 < field.data <= 100):
        raise ValidationError("Enter a share above 0 and at most 100 %, or leave it blank.")


class AvailabilityForm(FlaskForm):
    availability_model = SelectField(
        "Availability model", choices=[SelectChoice(value, label) for value, label in MODELS.items()]
    )
    cancellation_cost = FloatField(
        "What one cancelled order costs you",
        [InputRequired("Enter an amount, such as 100."), _amount],
        description="A refund, a support contact, a customer's goodwill: 100 unless you set it.",
    )
    margin_share = FloatField(
        "Your margin, as a share of the price (%)",
        [Optional(), _percent],
        description="Blank: each item's price less its cost, item by item.",
    )


def _form_data(retailer: int) -> dict:
    current = availability_settings(db.session, retailer_id=retailer)
    share = current.margin_share
    return {
        "availability_model": current.model,
        "cancellation_cost": current.cancellation_cost,
        "margin_share": None if share is None else round(share * 100, 6),
    }


@console.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    if request.method == "POST":
        require(roles.MANAGE)  # before anything is read or changed
        form = AvailabilityForm()
    else:
        form = AvailabilityForm(data=_form_data(retailer_id()))
    if request.method == "POST" and form.validate():
        share = form.margin_share.data
        changes = {
            "availability_model": form.availability_model.data,
            "cancellation_cost": form.cancellation_cost.data,
            "margin_share": None if share is None else share / 100,
        }
        try:
            with transaction(db.session):
                reroute.change_settings(
                    db.session, retailer_id=retailer_id(), changes=changes, actor=actor(), now=utcnow()
                )
        except InvalidInput as exc:
            db.session.rollback()
            form_errors(form, exc)
        else:
            flash("The availability settings are saved; your figures follow them now.", "success")
            return redirect(url_for("console.settings"))
    page = render_template(
        "console/settings.html",
        form=form,
        current=_form_data(retailer_id()),
        models=MODELS,
        may_manage=may(roles.MANAGE),
    )
    return page, 422 if request.method == "POST" else 200
