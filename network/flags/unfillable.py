"""`unfillable`: order lines the hub accepted short, whose missing units have no source yet.

A store order reaches the hub after the customer has paid (network/connectors), and
`POST /api/v1/orders` with `allow_partial` takes what it can: either way a line may be accepted
with fewer units than asked for, or none. The flag is raised at once, on the order line (there is
no purchase-order line or vendor for units nobody holds), so the retailer sees it with the other
at-risk lines (`order.at_risk`, GET /api/v1/flags, the console's home). It clears when the line
is whole after all (`filled`: its missing units found a source later) or when the retailer
cancels the line (`cancelled`: nobody waits for those units any more).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from network.flags import services as flags
from network.flags.models import UNFILLABLE
from network.orders.changes import accepted, withdrawn
from network.orders.models import Order, OrderLine

FILLED = "filled"
CANCELLED = "cancelled"


def detail(line: OrderLine) -> dict:
    return {
        "retailer_sku": line.retailer_sku,
        "requested": line.requested,
        "accepted": line.accepted,
        "missing": line.requested - line.accepted,
    }


@accepted.connect
def after_acceptance(session: Session, order: Order, *, now: dt.datetime) -> None:
    """Flag the order's lines accepted short (their figures kept current), clear the ones now whole.

    A just-placed order's lines know they have no flags (placement says so), so a whole order
    costs no query here.
    """
    resolved = []
    for line in order.lines:
        current = [flag for flag in line.open_flags if flag.kind == UNFILLABLE]
        if line.accepted < line.requested:
            ref = flags.LineRef(order.retailer_id, None, order.id, line.id, None, None)
            flag = flags.raise_flag(session, ref, kind=UNFILLABLE, now=now, detail=detail(line))
            if flag not in current:  # so the order read right after shows it
                set_committed_value(line, "open_flags", [*line.open_flags, flag])
        else:
            resolved.extend(current)
    if resolved:
        flags.resolve_flags(session, resolved, resolution=FILLED, now=now)


@withdrawn.connect
def after_withdrawal(
    session: Session, order: Order, order_line_ids: Sequence[int], *, now: dt.datetime
) -> None:
    """The retailer cancelled these lines: their missing units are not awaited any more."""
    open_ = flags.open_line_flags(session, order_line_ids, UNFILLABLE)
    if open_:
        flags.resolve_flags(session, open_, resolution=CANCELLED, now=now)
        for line in order.lines:  # the order read right after shows them gone
            if line.id in order_line_ids:
                session.expire(line, ["open_flags"])
