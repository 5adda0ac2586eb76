"""What reacts, in the same transaction, to a purchase-order transition; orders do not know who.

Flags (DESIGN §9: refusals flagged, oversells held, answered flags cleared, reroutes) stand above
orders and subscribe here: `network/flags/__init__.py` registers `network.flags.hooks.after_transition`
when the package is imported. That always happens before an order is touched, since SQLAlchemy
cannot map `OrderLine.open_flags` without `network.flags.models`; `transitioned` still refuses to
run with nobody listening, so a transition can never silently skip its flags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from network.orders.models import PurchaseOrder

if TYPE_CHECKING:
    from network.flags.hooks import Refusal


class TransitionListener(Protocol):
    def __call__(
        self,
        session: Session,
        po: PurchaseOrder,
        changes: Sequence[Mapping],
        reasons: Mapping[int, str],
        *,
        actor_org_id: int,
        refusal: Refusal | None,
        now: dt.datetime,
    ) -> None: ...


_listeners: list[TransitionListener] = []


def on_transition(listener: TransitionListener) -> TransitionListener:
    """Call `listener` after every purchase-order transition (once, however often it registers)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def transitioned(
    session: Session,
    po: PurchaseOrder,
    changes: Sequence[Mapping],
    reasons: Mapping[int, str],
    *,
    actor_org_id: int,
    refusal: Refusal | None,
    now: dt.datetime,
) -> None:
    """Tell the listeners that some of `po`'s lines changed (`changes`: one dict per line change)."""
    if not _listeners:
        raise RuntimeError("no listener for purchase-order transitions: import network.flags first")
    for listener in _listeners:
        listener(session, po, changes, reasons, actor_org_id=actor_org_id, refusal=refusal, now=now)
