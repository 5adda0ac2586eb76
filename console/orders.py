"""The console's Orders pages: the search, one order, and what an operator does to it by hand
(cancel units, open a return, move a line to another source).

Every action is a plain form (CSRF, no JavaScript needed). Another retailer's order is a 404
before any role check says it exists; then the OPERATE role (network/partners/roles.py) is
checked, so a viewer posting directly gets a 403 and nothing changes. A refused action shows the
order again with the reason and the error's 4xx status, having changed nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from console.blueprint import console
from console.session import actor, login_required, may, require, retailer_id
from network.clock import utcnow
from network.console_views import orders as views
from network.console_views.orders import STATUS_FILTERS, Search, order_page, search_orders
from network.db import transaction
from network.errors import DomainError, InvalidInput
from network.extensions import db
from network.flags import reroute
from network.orders import by_hand, returns
from network.orders.queries import get_order
from network.orders.services import LineQuantity
from network.partners import roles
from network.partners.audit import Actor
from vendor_portal.web.common import keyset_position, whole_units

PAGE_SIZE = views.PAGE_SIZE
MAX_REFERENCE = 100
MAX_REASON = 500


def _search_args(args: MultiDict) -> tuple[Search, list[str]]:
    """Read the search form; what cannot be read is left out and said (the page still answers)."""
    problems = []
    reference = args.get("reference", "").strip()[:MAX_REFERENCE]
    status = args.get("status", "")
    if status and status not in STATUS_FILTERS:
        problems.append(f"Unknown status {status!r}: showing every status.")
        status = ""
    days = {}
    for name, label in (("from", "From"), ("to", "To")):
        raw = args.get(name, "").strip()
        try:
            days[name] = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            problems.append(f"{label}: {raw!r} is not a date (YYYY-MM-DD); it is left out.")
            days[name] = None
    return Search(reference, status, days["from"], days["to"]), problems


@console.get("/orders")
@login_required
def orders():
    search, problems = _search_args(request.args)
    before = keyset_position("before")
    page = search_orders(
        db.session, retailer_id=retailer_id(), search=search, before_id=before, limit=PAGE_SIZE
    )
    query = {
        "reference": search.reference,
        "status": search.status,
        "from": search.created_from.isoformat() if search.created_from else "",
        "to": search.created_to.isoformat() if search.created_to else "",
    }
    return render_template(
        "console/orders.html",
        page=page,
        search=search,
        query={k: v for k, v in query.items() if v},
        statuses=STATUS_FILTERS,
        problems=problems,
        paged=before is not None,
    )


def _order_page(order_id: int, *, error: DomainError | None = None, form: MultiDict | None = None):
    page = order_page(db.session, order_id, retailer_id=retailer_id(), now=utcnow())
    body = render_template(
        "console/order.html",
        page=page,
        order=page.order,
        error=error,
        form=form or MultiDict(),
        may_operate=may(roles.OPERATE),
    )
    return body, error.status if error else 200


@console.get("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    return _order_page(order_id)


def _act(order_id: int, done: str, action: Callable[[Actor], object]):
    """Check the order is the retailer's and the role may act, then run one action in one transaction."""
    get_order(db.session, order_id, retailer_id=retailer_id())  # another retailer's order: 404
    db.session.rollback()
    require(roles.OPERATE)
    try:
        with transaction(db.session):
            action(actor())
    except DomainError as exc:
        if exc.status >= 500:
            raise
        return _order_page(order_id, error=exc, form=request.form)
    flash(done, "info")
    return redirect(url_for("console.order", order_id=order_id))


def _units(form: MultiDict, name: str) -> int:
    """A count of units of at least 1. Raises InvalidInput."""
    raw = form.get(name, "").strip()
    if not raw:
        raise InvalidInput("Enter a number of units.", errors={name: ["required"]})
    value = whole_units(raw, name)
    if value < 1:
        raise InvalidInput("Enter at least 1 unit.", errors={name: ["at least 1"]})
    return value


def _line_id(form: MultiDict) -> int:
    raw = form.get("line_id", "").strip()
    if not raw.isdigit():
        raise InvalidInput("Choose a line.", errors={"line_id": ["required"]})
    return int(raw)


def _reason(form: MultiDict, *, required: bool) -> str:
    reason = form.get("reason", "").strip()
    if required and not reason:
        raise InvalidInput("A reason is required.", errors={"reason": ["required"]})
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            f"The reason is longer than {MAX_REASON} characters.", errors={"reason": ["too long"]}
        )
    return reason


@console.post("/orders/<int:order_id>/cancel")
@login_required
def order_cancel(order_id: int):
    """Cancel unshipped units of one line, or (without a line) every unshipped unit of the order."""

    def act(actor: Actor) -> None:
        form = request.form
        lines = None
        if form.get("line_id"):
            lines = [LineQuantity(_line_id(form), _units(form, "quantity"))]
        by_hand.cancel_by_hand(
            db.session,
            retailer_id=retailer_id(),
            order_id=order_id,
            lines=lines,
            reason=_reason(form, required=False),
            actor=actor,
            now=utcnow(),
        )

    return _act(order_id, "Units cancelled: their vendors are told at once.", act)


@console.post("/orders/<int:order_id>/returns")
@login_required
def order_return(order_id: int):
    def act(actor: Actor) -> None:
        form = request.form
        returns.open_return(
            db.session,
            retailer_id=retailer_id(),
            order_id=order_id,
            lines=[LineQuantity(_line_id(form), _units(form, "quantity"))],
            reason=_reason(form, required=True),
            now=utcnow(),
        )

    return _act(order_id, "Return opened: the vendor expects the units back.", act)


@console.post("/orders/<int:order_id>/lines/<int:line_id>/reroute")
@login_required
def order_line_reroute(order_id: int, line_id: int):
    def act(actor: Actor) -> None:
        raw = request.form.get("vendor_variant_id", "").strip()
        if raw and not raw.isdigit():
            raise InvalidInput("Choose a source.", errors={"vendor_variant_id": ["choose a source"]})
        reroute.reroute_by_hand(
            db.session,
            retailer_id=retailer_id(),
            order_id=order_id,
            line_id=line_id,
            to_variant_id=int(raw) if raw else None,
            actor=actor,
            now=utcnow(),
        )

    return _act(order_id, "Line moved: the vendors are told at once.", act)
