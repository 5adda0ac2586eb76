"""Purchase orders (inbox, acknowledge, reject, ship, cancel, packing slip) and returns (receive, grade).

Every transition is one call to `network.orders` in one transaction; a refused one re-renders the
page with the reason and the error's 4xx status, having changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from network.clock import utcnow
from network.db import transaction
from network.errors import DomainError, InvalidInput
from network.extensions import db
from network.flags.hooks import REFUSAL_REASONS, Refusal, hold_period
from network.orders import returns as order_returns
from network.orders import services as orders
from network.orders import views
from network.orders.services import LineQuantity
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import keyset_position, login_required, vendor_id, whole_units

MAX_TEXT = 200


@portal.get("/purchase-orders")
@login_required
def purchase_orders():
    state = request.args.get("state", "action")
    box = views.inbox(db.session, vendor_id=vendor_id(), state=state, after_id=keyset_position("after") or 0)
    return render_template(
        "portal/purchase_orders.html",
        inbox=box,
        state=state if state in views.FILTERS else "action",
        now=utcnow(),
    )


def _po_page(po_id: int, *, error: DomainError | None = None, form: MultiDict | None = None):
    page = views.purchase_order_page(db.session, po_id, vendor_id=vendor_id())
    body = render_template(
        "portal/purchase_order.html",
        page=page,
        po=page.po,
        error=error,
        form=form or MultiDict(),
        reasons=REFUSAL_REASONS,
        now=utcnow(),
    )
    return body, error.status if error else 200


@portal.get("/purchase-orders/<int:po_id>")
@login_required
def purchase_order(po_id: int):
    return _po_page(po_id)


@portal.get("/purchase-orders/<int:po_id>/packing-slip")
@login_required
def purchase_order_packing_slip(po_id: int):
    page = views.purchase_order_page(db.session, po_id, vendor_id=vendor_id())
    return render_template("portal/packing_slip.html", page=page, po=page.po)


def _line_quantities(form: MultiDict, prefix: str) -> list[LineQuantity]:
    """Read `<prefix><line id>` unit counts; blanks and zeros are lines left alone. Raises InvalidInput."""
    lines = []
    for name, value in form.items():
        if name.startswith(prefix) and value.strip() and name[len(prefix) :].isdigit():
            quantity = whole_units(value, "lines")
            if quantity:
                lines.append(LineQuantity(int(name[len(prefix) :]), quantity))
    if not lines:
        raise InvalidInput("enter the number of units for at least one line", errors={"lines": ["no units"]})
    return lines


def _text(form: MultiDict, name: str, label: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise InvalidInput(f"{label} is required", errors={name: ["required"]})
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{label} is too long", errors={name: [f"at most {MAX_TEXT} characters"]})
    return value


def _refusal(form: MultiDict, code_field: str, note_field: str) -> tuple[str, Refusal]:
    """Read a refusal's reason code (one of the API's) and optional note; the same Refusal the API passes.

    Raises InvalidInput.
    """
    code = form.get(code_field, "").strip()
    if code not in REFUSAL_REASONS:
        raise InvalidInput("A reason is required", errors={code_field: ["choose a reason"]})
    note = form.get(note_field, "").strip()
    if len(note) > MAX_TEXT:
        raise InvalidInput("The note is too long", errors={note_field: [f"at most {MAX_TEXT} characters"]})
    reason = f"{REFUSAL_REASONS[code]}: {note}" if note else REFUSAL_REASONS[code]
    return reason, Refusal(code=code, hold_for=hold_period(current_app.config))


def _attempt(action: Callable[[], object], *, done: str, back: str, refused: Callable[[DomainError], object]):
    """Run one transition in one transaction; a refusal (4xx) shows the page again with the reason."""
    try:
        with transaction(db.session):
            action()
    except DomainError as exc:
        if exc.status >= 500:
            raise
        return refused(exc)
    flash(done, "info")
    return redirect(back)


def _transition(po_id: int, done: str, action: Callable[[], object]):
    return _attempt(
        action,
        done=done,
        back=url_for("portal.purchase_order", po_id=po_id),
        refused=lambda exc: _po_page(po_id, error=exc, form=request.form),
    )


@portal.post("/purchase-orders/<int:po_id>/acknowledge")
@login_required
def purchase_order_acknowledge(po_id: int):
    return _transition(
        po_id,
        "Acknowledged: the retailer is told you will ship.",
        lambda: orders.acknowledge(db.session, vendor_id=vendor_id(), po_id=po_id, lines=None, now=utcnow()),
    )


@portal.post("/purchase-orders/<int:po_id>/reject")
@login_required
def purchase_order_reject(po_id: int):
    def act() -> None:
        lines = _line_quantities(request.form, "reject-")
        reason, refusal = _refusal(request.form, "reason_code", "reason")
        orders.reject(
            db.session,
            vendor_id=vendor_id(),
            po_id=po_id,
            lines=lines,
            reason=reason,
            now=utcnow(),
            refusal=refusal,
        )

    return _transition(po_id, "Rejected: the retailer is told at once.", act)


@portal.post("/purchase-orders/<int:po_id>/ship")
@login_required
def purchase_order_ship(po_id: int):
    def act() -> None:
        lines = _line_quantities(request.form, "ship-")
        carrier = _text(request.form, "carrier", "The carrier")
        tracking = _text(request.form, "tracking_number", "The tracking number")
        orders.ship(
            db.session,
            vendor_id=vendor_id(),
            po_id=po_id,
            carrier=carrier,
            tracking_number=tracking,
            lines=lines,
            now=utcnow(),
        )

    return _transition(po_id, "Shipment recorded: the retailer has the tracking number.", act)


@portal.post("/purchase-orders/<int:po_id>/cancel")
@login_required
def purchase_order_cancel(po_id: int):
    def act() -> None:
        lines = _line_quantities(request.form, "cancel-")
        reason, refusal = _refusal(request.form, "cancel_reason_code", "cancel_reason")
        orders.cancel_by_vendor(
            db.session,
            vendor_id=vendor_id(),
            po_id=po_id,
            lines=lines,
            reason=reason,
            now=utcnow(),
            refusal=refusal,
        )

    return _transition(po_id, "Units cancelled: the retailer is told at once.", act)


# --- returns -----------------------------------------------------------------------------------

RETURN_FILTERS = ("open", "received", "closed", "all")


def _returns_page(*, error: DomainError | None = None, error_return: int | None = None):
    status = request.args.get("status", "open")
    status = status if status in RETURN_FILTERS else "open"
    rows, next_after = views.returns_page(
        db.session,
        vendor_id=vendor_id(),
        status=None if status == "all" else status,
        after_id=keyset_position("after") or 0,
    )
    body = render_template(
        "portal/returns.html",
        rows=rows,
        next_after=next_after,
        status=status,
        filters=RETURN_FILTERS,
        error=error,
        error_return=error_return,
    )
    return body, error.status if error else 200


@portal.get("/returns")
@login_required
def returns():
    return _returns_page()


def _count(name: str) -> int:
    return whole_units(request.form.get(name, "") or "0", name)


def _return_transition(return_id: int, done: str, action: Callable[[], object]):
    return _attempt(
        action,
        done=done,
        back=url_for("portal.returns", status=request.args.get("status", "open")),
        refused=lambda exc: _returns_page(error=exc, error_return=return_id),
    )


@portal.post("/returns/<int:return_id>/receive")
@login_required
def return_receive(return_id: int):
    def act() -> None:
        quantity = _count("quantity")
        if quantity < 1:
            raise InvalidInput("receive at least one unit", errors={"quantity": ["at least 1"]})
        order_returns.receive_return(
            db.session, vendor_id=vendor_id(), return_id=return_id, quantity=quantity, now=utcnow()
        )

    return _return_transition(return_id, "Received: the units wait for inspection and are not sold.", act)


@portal.post("/returns/<int:return_id>/grade")
@login_required
def return_grade(return_id: int):
    def act() -> None:
        order_returns.grade_return(
            db.session,
            vendor_id=vendor_id(),
            return_id=return_id,
            resellable=_count("resellable"),
            damaged=_count("damaged"),
            now=utcnow(),
        )

    return _return_transition(
        return_id, "Graded: resellable units are back in stock, damaged ones are not sold.", act
    )
