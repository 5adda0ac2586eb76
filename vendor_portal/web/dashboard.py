"""The dashboard: connections and terms, stock health, open purchase orders, flags, last feed runs."""

from __future__ import annotations

from flask import render_template

from network.clock import utcnow
from network.extensions import db
from network.portal_views import dashboard as dashboards
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import login_required, vendor_id


@portal.get("/dashboard")
@login_required
def dashboard():
    now = utcnow()
    board = dashboards.vendor_dashboard(db.session, vendor_id=vendor_id(), now=now)
    return render_template("portal/dashboard.html", board=board, now=now)
