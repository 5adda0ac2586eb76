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

_UNSEQUENCED = "dropnet_outbox_unsequenced"
# Any constant works: it only has to be the same for every writer of the outbox.
_SEQUENCE_LOCK = 0x0D50_0001


_INSERT = Event.__table__.insert()
_INSERT_TXID = _INSERT.values(txid=sa.func.txid_current())


def record(session: Session, *, org_id: int, event: DomainEvent, key: str = "", now: dt.datetime) -> None:
    """Write one event for one organization into the outbox."""
    record_many(session, [(org_id, key, event)], now=now)


def record_many(
    session: Session, events: Sequence[tuple[int, str, DomainEvent]], *, now: dt.datetime
) -> None:
    """Write many (org_id, key, event) triples in one round trip."""
    if not events:
        return
    values = [
        {"org_id": org_id, "type": ev.wire_name, "key": key, "data": ev.payload(), "created_at": now}
        for org_id, key, ev in events
    ]
    # A Core insert: the ORM's bulk path cost three times as much, for rows nothing loads back.
    session.execute(_INSERT_TXID if is_postgres(session) else _INSERT, values)
    mark_unsequenced(session)
    announce(session)


def mark_unsequenced(session: Session) -> None:
    """Note that this transaction wrote events that need their commit-order number."""
    session.info[_UNSEQUENCED] = True


def sequence_events(session: Session) -> None:
    """Number this transaction's events in commit order; runs right before commit.

    Event ids come from a sequence when rows are inserted, so a transaction that inserted early
    and commits late holds ids below ones a reader may already have passed. `seq` is given under
    one lock held from here to the end of the commit: the numbers grow in the order commits become
    visible, and a committed event always has one, so a cursor on `seq` never skips an event. The
    lock is the last one the transaction takes, held for one short update, so it cannot deadlock.
    """
    if is_postgres(session):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_SEQUENCE_LOCK)))
    session.execute(_NUMBER_UNSEQUENCED)


def _number_unsequenced() -> sa.Update:
    # Unsequenced rows a transaction can see are its own: others' are either uncommitted
    # (invisible) or were numbered before they committed.
    events = Event.__table__
    base = sa.select(sa.func.coalesce(sa.func.max(events.c.seq), 0)).scalar_subquery()
    mine = (
        sa.select(events.c.id, sa.func.row_number().over(order_by=events.c.id).label("n"))
        .where(events.c.seq.is_(None))
        .subquery()
    )
    return events.update().where(events.c.id == mine.c.id).values(seq=base + mine.c.n)


# Built once, and on the table rather than the model (the ORM's bulk update costs more than the
# statement): it runs before every commit that wrote events, flushed just before.
_NUMBER_UNSEQUENCED = _number_unsequenced()


@sa.event.listens_for(Session, "before_commit")
def _sequence_before_commit(session: Session) -> None:
    if session.info.pop(_UNSEQUENCED, False):
        session.flush()
        sequence_events(session)


@sa.event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_UNSEQUENCED, None)


def read_events(
    session: Session,
    *,
    org_id: int,
    after_seq: int,
    limit: int,
    types: Sequence[str] | None = None,
) -> list[Event]:
    """Return up to `limit` events of an organization after a cursor (a `seq`), in commit order."""
    query = (
        sa.select(Event).where(Event.org_id == org_id, Event.seq > after_seq).order_by(Event.seq).limit(limit)
    )
    if types:
        query = query.where(Event.type.in_(types))
    return list(session.scalars(query))


def latest_events(session: Session, *, org_id: int, before_seq: int | None, limit: int) -> list[Event]:
    """Return up to `limit` of an organization's events before a position (a `seq`), newest first.

    The console's event log reads backwards from now; only sequenced (committed) events have a
    place in it, as in `read_events`.
    """
    query = sa.select(Event).where(Event.org_id == org_id, Event.seq.is_not(None))
    if before_seq is not None:
        query = query.where(Event.seq < before_seq)
    return list(session.scalars(query.order_by(Event.seq.desc()).limit(limit)))
