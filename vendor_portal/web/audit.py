"""The portal's audit log page: who in the vendor's organization changed what, newest first."""

from __future__ import annotations

from flask import render_template

from network.extensions import db
from network.partners import audit
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import before_position, login_required, vendor_id

ROWS = 100


@portal.get("/audit-log")
@login_required
def audit_log():
    log = audit.log_page(db.session, org_id=vendor_id(), before_id=before_position(), limit=ROWS)
    return render_template("portal/audit_log.html", log=log)
