"""The console's home: open flags, quiet vendors, holds, held vendor files and dead webhook deliveries."""

from __future__ import annotations

from flask import render_template

from console.blueprint import console
from console.session import login_required, may, retailer_id
from network.clock import utcnow
from network.console_views.home import console_home
from network.extensions import db
from network.partners import roles


@console.get("")
@login_required
def home():
    now = utcnow()
    board = console_home(db.session, retailer_id=retailer_id(), now=now)
    may_manage = may(roles.MANAGE)
    return render_template("console/home.html", board=board, now=now, may_manage=may_manage)
