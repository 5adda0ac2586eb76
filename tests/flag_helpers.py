"""Helpers for flag tests: a clock the test moves, and short reads of flags and events through the API."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.clock import utcnow as _wall_clock
from network.outbox.models import Event
from tests.builders import Party, push_json
from tests.order_helpers import place

# Token checks keep the wall clock: moving time must not expire the test's bearer tokens.
_KEEP = ("network.clock", "api_common.oauth")


class Clock:
    """The wall clock plus an offset the test moves forward (never behind what already happened)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return _wall_clock() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


def controlled_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Make every view, job and service of the hub read `Clock` instead of the wall clock."""
    clock = Clock()
    for name, module in list(sys.modules.items()):
        if name in _KEEP or not name.startswith(("api_common", "network", "retailer_api", "vendor_portal")):
            continue
        if getattr(module, "utcnow", None) is _wall_clock:
            monkeypatch.setattr(module, "utcnow", clock)
    return clock


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_of(retailer: Party, sku: str, quantity: int, **extra) -> dict:
    """Place an order through the API; return {order, line, po, po_line} ids of its (single) line."""
    response = place(retailer, [(sku, quantity)], **extra)
    assert response.status_code == 201, response.get_data(as_text=True)
    order = response.get_json()
    (line,) = order["lines"]
    (po_line,) = line["purchase_order_lines"]
    return {
        "order": order["id"],
        "line": line["id"],
        "po": po_line["purchase_order_id"],
        "po_line": po_line["id"],
        "vendor": po_line["vendor_id"],
    }


def flags_of(retailer: Party, status: str | None = None) -> list[dict]:
    query = f"?status={status}" if status else ""
    response = retailer.api.get(f"/api/v1/flags{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["data"]


def open_kinds(retailer: Party) -> list[tuple[str, int]]:
    """(kind, order line id) of every open flag, sorted."""
    return sorted((flag["kind"], flag["line_id"]) for flag in flags_of(retailer, "open"))


def events_of(session: Session, org: Party, event_type: str) -> list[dict]:
    """The events recorded for an organization (what its webhooks are sent), oldest first.

    Read from the outbox table: vendors have no event-log API, and retailers' events read the
    same way as theirs.
    """
    session.rollback()
    rows = session.scalars(
        sa.select(Event.data).where(Event.org_id == org.id, Event.type == event_type).order_by(Event.id)
    ).all()
    session.rollback()
    return list(rows)


def count(vendor: Party, sku: str, quantity: int, as_of: dt.datetime) -> None:
    """The vendor reports a count of one sku (a delta feed) as of a moment."""
    response = push_json(vendor, [{"sku": sku, "quantity": quantity}], mode="delta", as_of=iso(as_of))
    assert response.status_code == 200 and response.get_json()["status"] == "applied", response.get_data(
        as_text=True
    )


def po_action(vendor: Party, po_id: int, action: str, body: dict | None = None):
    response = vendor.api.post(f"/vendor-api/v1/purchase-orders/{po_id}/{action}", json=body or {})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.get_json()
