"""A retailer changes a connection's terms: the figures they move are published and explained."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from network.availability.services import items_of_connection, note_connection_change, publish_changes
from network.partners import audit
from network.partners import services as partners
from network.partners.models import Connection
from network.partners.services import CONNECTION_TERMS

# Terms that move what the retailer may sell, and the ledger reason of each.
FIGURE_TERMS = {"safety_buffer": "buffer", "status": "connection", "stale_after_minutes": "stale_after"}


def change_terms(
    session: Session,
    connection_id: int,
    *,
    retailer_id: int,
    terms: dict,
    actor: audit.Actor,
    now: dt.datetime,
) -> Connection:
    """Change a connection's terms, note those that move figures in the ledger, publish the figures.

    Raises NotFound, InvalidInput.
    """
    before = partners.get_connection(session, connection_id, org_id=retailer_id)
    old = {name: getattr(before, name) for name in FIGURE_TERMS}
    was = {name: getattr(before, name) for name in CONNECTION_TERMS}
    conn = partners.update_connection_terms(
        session, connection_id, retailer_id=retailer_id, terms=terms, now=now
    )
    moved = [name for name in CONNECTION_TERMS if was[name] != getattr(conn, name)]
    if moved:  # the audit log records changes, not saves that changed nothing
        audit.record(
            session,
            org_id=retailer_id,
            actor=actor,
            action="connection.terms_changed",
            subject=f"connection {conn.id} ({conn.vendor.name})",
            before={name: was[name] for name in moved},
            after={name: getattr(conn, name) for name in moved},
            now=now,
        )
    for name, reason in FIGURE_TERMS.items():
        if name in terms and old[name] != getattr(conn, name):
            note_connection_change(
                session,
                retailer_id=conn.retailer_id,
                vendor_id=conn.vendor_id,
                connection_id=conn.id,
                reason=reason,
                changes={name: [old[name], getattr(conn, name)]},
                now=now,
            )
    publish_changes(
        session, items_of_connection(session, retailer_id=conn.retailer_id, vendor_id=conn.vendor_id), now=now
    )
    return conn
