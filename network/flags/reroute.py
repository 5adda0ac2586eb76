"""Reroute (DESIGN §9), the flags' side: the retailer's policy, and moving a flagged line.

Where the retailer's policy (`auto_reroute`) allows and the purchase-order line is not yet
acknowledged, the line is moved by the orders' service (network/orders/reroute.py) and its flags
are resolved as `rerouted`. If no other source has the units, or a row it needs is busy, nothing
changes and the flag stays for the retailer to act.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from network.availability.settings import apply_availability_changes
from network.errors import NotFound
from network.flags import services as flags
from network.flags.models import REFUSALS
from network.orders import by_hand
from network.orders import reroute as order_reroute
from network.orders.models import Order, PurchaseOrderLine
from network.partners import audit
from network.partners.audit import Actor
from network.partners.models import RETAILER, Organization

REROUTED = "rerouted"


# --- the retailer's policy --------------------------------------------------------------------


def get_settings(session: Session, *, retailer_id: int) -> Organization:
    """Raises NotFound."""
    org = session.get(Organization, retailer_id)
    if org is None or org.kind != RETAILER:
        raise NotFound(f"retailer {retailer_id} not found")
    return org


def change_settings(
    session: Session, *, retailer_id: int, changes: dict[str, object], actor: Actor, now: dt.datetime
) -> Organization:
    """The retailer changes its policies (the API's PATCH /api/v1/settings, the console's Settings
    page, the simulator's seeding): change the policies given (`auto_reroute` and the availability
    settings by their SETTINGS names), all checked before any changes, and record one
    `settings.changed` with before and after of every field that moved (none if nothing moved).
    Raises InvalidInput (a bad availability field), NotFound."""
    auto_reroute = changes.get("auto_reroute")
    org = get_settings(session, retailer_id=retailer_id)
    _, before, after = apply_availability_changes(
        session,
        retailer_id=retailer_id,
        changes={name: value for name, value in changes.items() if name != "auto_reroute"},
        now=now,
    )
    if auto_reroute is not None and auto_reroute != org.auto_reroute:
        before = {"auto_reroute": org.auto_reroute, **before}
        after = {"auto_reroute": auto_reroute, **after}
        org.auto_reroute = bool(auto_reroute)
    if before:
        audit.record(
            session,
            org_id=retailer_id,
            actor=actor,
            action="settings.changed",
            subject="settings",
            before=before,
            after=after,
            now=now,
        )
    session.flush()
    return org


# --- moving a line ----------------------------------------------------------------------------


def reroute(
    session: Session,
    line: PurchaseOrderLine,
    *,
    quantity: int,
    release: bool,
    now: dt.datetime,
    at_least: float | None = None,
) -> list[PurchaseOrderLine] | None:
    """Move `quantity` units of a line to other sources and resolve the flags that answers; return
    the new lines, or None if it cannot. The caller checked network.orders.reroute.allowed;
    `release`, `at_least`: see network.orders.reroute.reroute_line."""

    def answered() -> None:
        # Released: the whole line moved, every flag on it is answered. Refused units: their refusals are.
        open_ones = flags.open_flags(session, [line.id], None if release else REFUSALS)
        flags.resolve_flags(session, open_ones, resolution=REROUTED, now=now)

    return order_reroute.reroute_line(
        session, line, quantity=quantity, release=release, now=now, answered=answered, at_least=at_least
    )


def reroute_by_hand(
    session: Session,
    *,
    retailer_id: int,
    order_id: int,
    line_id: int,
    to_variant_id: int | None,
    actor: Actor,
    now: dt.datetime,
) -> Order:
    """A retailer moves a line by hand (network/orders/by_hand.py): every flag on the moved units
    is answered by the move and resolved as `rerouted`, as when the hub moves it."""

    def answered(line: PurchaseOrderLine) -> None:
        flags.resolve_flags(session, flags.open_flags(session, [line.id]), resolution=REROUTED, now=now)

    return by_hand.reroute_by_hand(
        session,
        retailer_id=retailer_id,
        order_id=order_id,
        line_id=line_id,
        to_variant_id=to_variant_id,
        actor=actor,
        now=now,
        answered=answered,
    )
