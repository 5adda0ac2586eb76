"""What availability does when an area below it reports a change (network/signals.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from network.availability.services import items_of_connection, publish_changes
from network.partners.invites import connected_by_invite
from network.partners.models import Connection


@connected_by_invite.connect
def publish_connection(session: Session, conn: Connection, *, now: dt.datetime) -> None:
    """A reactivated connection makes the vendor's stock count again for the retailer's items."""
    publish_changes(
        session, items_of_connection(session, retailer_id=conn.retailer_id, vendor_id=conn.vendor_id), now=now
    )
