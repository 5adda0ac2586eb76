"""The limits of the guards against slips (a misplaced period, a mistyped price)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.partners.guards import guard_limits, set_guard_limits
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import form_errors, login_required, vendor_id
from vendor_portal.web.forms import GuardsForm


@portal.route("/guards", methods=["GET", "POST"])
@login_required
def guards():
    form = GuardsForm()
    if request.method == "POST":
        if form.validate():
            changes = {
                "enabled": form.enabled.data,
                "quantity_factor": form.quantity_factor.data,
                "quantity_floor": form.quantity_floor.data,
                "price_share": form.price_percent.data / 100,
            }
            try:
                with transaction(db.session):
                    set_guard_limits(db.session, vendor_id(), changes=changes, now=utcnow())
            except InvalidInput as exc:
                form_errors(form, exc, fields={"price_share": "price_percent"})
            else:
                flash("The limits are saved.", "info")
                return redirect(url_for("portal.guards"))
        return render_template("portal/guards.html", form=form), 422
    limits = guard_limits(db.session, vendor_id())
    form.enabled.data = limits.enabled
    form.quantity_factor.data = limits.quantity_factor
    form.quantity_floor.data = limits.quantity_floor
    form.price_percent.data = round(limits.price_share * 100)
    return render_template("portal/guards.html", form=form)
