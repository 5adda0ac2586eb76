"""A purchase-order line's deadlines (DESIGN §2, §9): acknowledge within the connection's
`ack_sla_hours` and ship within `ship_sla_hours` of the moment it was placed.

The flag rules (`network.flags.rules`) raise ack_overdue and ship_overdue on these deadlines and
the vendor's pages count down to them, so both read them here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineClock:
    """A live, unshipped purchase-order line with the deadlines and the feed that govern it."""

    placed_at: dt.datetime
    acknowledged: bool
    ack_sla: dt.timedelta
    ship_sla: dt.timedelta
    as_of: dt.datetime | None  # the vendor's effective count time for the line's variant
    stale_after: dt.timedelta


def ack_due_at(line: LineClock) -> dt.datetime:
    return line.placed_at + line.ack_sla


def ship_due_at(line: LineClock) -> dt.datetime:
    return line.placed_at + line.ship_sla
