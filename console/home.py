"""The console's home: open flags, quiet vendors, holds and dead webhook deliveries."""

from __future__ import annotations

from flask import render_template

from console.blueprint import console
from console.session import login_required, retailer_id
from network.clock import utcnow
from network.console_views.home import console_home
from network.extensions import db


@console.get("")
@login_required
def home():
    now = utcnow()
    board = console_home(db.session, retailer_id=retailer_id(), now=now)
    return render_template("console/home.html", board=board, now=now)
