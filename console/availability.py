"""The console's Availability page: search an item, and see why it shows what it shows.

Reading only: every role may see it. Another retailer's SKU is a 404, as an unknown one.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from console.blueprint import console
from console.session import login_required, retailer_id
from network.clock import utcnow
from network.console_views.availability import breakdown, exact_item, search_items
from network.extensions import db
from vendor_portal.web.common import keyset_position


@console.get("/availability")
@login_required
def availability():
    text = request.args.get("q", "")[:300]
    after_id = keyset_position("after") or 0
    if text.strip() and not after_id:
        sku = exact_item(db.session, retailer_id=retailer_id(), text=text)
        if sku is not None:
            return redirect(url_for("console.item_availability", retailer_sku=sku))
    page = search_items(db.session, retailer_id=retailer_id(), text=text, after_id=after_id)
    return render_template("console/availability.html", page=page, search=text)


@console.get("/availability/<path:retailer_sku>")
@login_required
def item_availability(retailer_sku: str):
    # NotFound (an unknown SKU, or another retailer's) answers the console's 404 page.
    view = breakdown(db.session, retailer_id=retailer_id(), retailer_sku=retailer_sku, now=utcnow())
    return render_template("console/item_availability.html", view=view)
