"""Reads a PostgreSQL read replica may answer: availability and the cursor feeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from sqlalchemy.orm import Session

from api_common.oauth import current_caller
from api_common.pagination import feed_page
from network.extensions import db
from network.outbox.services import read_events

T = TypeVar("T")


def replica_read(run: Callable[[Session], T]) -> T:
    """`run(session)` for the caller, on the replica when network/replica.py allows (the request's
    own session on the primary otherwise, or when no DATABASE_REPLICA_URL is set).

    `run` only reads and returns plain values: it may run twice (on the primary again when the
    replica fails during the read), and the replica's session is closed when it returns.
    """
    router = current_app.extensions.get("hub_reads")
    if router is None:
        return run(db.session)
    return router.read(current_caller().org_id, run, primary=db.session)


def event_log_page(*, after: int, limit: int, types: list[str] | None) -> dict:
    """One page of the caller's event log after the cursor position `after` (both APIs' /events)."""
    org_id = current_caller().org_id

    def run(session: Session) -> dict:
        events = read_events(session, org_id=org_id, after_seq=after, limit=limit, types=types)
        data = [{"id": str(e.id), "type": e.type, "created_at": e.created_at, "data": e.data} for e in events]
        return feed_page(data, last_position=events[-1].seq if events else after)

    return replica_read(run)
