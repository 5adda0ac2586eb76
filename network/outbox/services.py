"""Record events into the outbox and read them back by cursor, safely under concurrent writers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.outbox.events import DomainEvent
from network.outbox.models import Event
from network.outbox.wakeup import announce


def _txid(session: Session) -> sa.ColumnElement | None:
    return sa.func.txid_current() if is_postgres(session) else None


def record(session: Session, *, org_id: int, event: DomainEvent, key: str = "", now: dt.datetime) -> None:
    """Write one event for one organization into the outbox."""
    record_many(session, [(org_id, key, event)], now=now)


def record_many(
    session: Session, events: Sequence[tuple[int, str, DomainEvent]], *, now: dt.datetime
) -> None:
    """Write many (org_id, key, event) triples in one round trip."""
    if not events:
        return
    txid = _txid(session)
    values = [
        {"org_id": org_id, "type": ev.wire_name, "key": key, "data": ev.payload(), "created_at": now}
        for org_id, key, ev in events
    ]
    stmt = sa.insert(Event)
    if txid is not None:
        stmt = stmt.values(txid=txid)
    session.execute(stmt, values)
    announce(session)


def visible_events(session: Session) -> sa.ColumnElement[bool]:
    """Events every reader may pass: on PostgreSQL, only those whose writing transactions all ended.

    Ids come from a sequence before commit, so an event committed late can carry a lower id than
    one already read. Holding readers back to the oldest running writer on the cluster closes that
    gap; a long-open writing transaction therefore delays the feed (it never loses an event).
    """
    if not is_postgres(session):
        return sa.true()
    return Event.txid < sa.func.txid_snapshot_xmin(sa.func.txid_current_snapshot())


def read_events(
    session: Session,
    *,
    org_id: int,
    after_id: int,
    limit: int,
    types: Sequence[str] | None = None,
) -> list[Event]:
    """Return up to `limit` events of an organization after a cursor, oldest first."""
    query = (
        sa.select(Event)
        .where(Event.org_id == org_id, Event.id > after_id, visible_events(session))
        .order_by(Event.id)
        .limit(limit)
    )
    if types:
        query = query.where(Event.type.in_(types))
    return list(session.scalars(query))
