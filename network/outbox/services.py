"""Record events into the outbox and read them back by cursor, safely under concurrent writers."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from network import direct
from network.db import is_postgres
from network.outbox.events import DomainEvent
from network.outbox.models import Event
from network.outbox.wakeup import CHANNEL, announce, wrote_outbox_work

_UNSEQUENCED = "dropnet_outbox_unsequenced"


_INSERT = Event.__table__.insert()


def record(session: Session, *, org_id: int, event: DomainEvent, key: str = "", now: dt.datetime) -> None:
    """Write one event for one organization into the outbox."""
    record_many(session, [(org_id, key, event)], now=now)


def record_many(
    session: Session,
    events: Sequence[tuple[int, str, DomainEvent]],
    *,
    now: dt.datetime,
    along: sa.CTE | None = None,
) -> None:
    """Write many (org_id, key, event) triples in one round trip.

    `along` (PostgreSQL): another data-modifying statement, as a CTE, sent in the same round trip.
    """
    if not events:
        return
    if is_postgres(session):
        statement = events_from_arrays()
        session.execute(statement if along is None else statement.add_cte(along), event_arrays(events, now))
        noted(session)
        return
    values = [
        {"org_id": org_id, "type": ev.wire_name, "key": key, "data": ev.payload(), "created_at": now}
        for org_id, key, ev in events
    ]
    # A Core insert: the ORM's bulk path cost three times as much, for rows nothing loads back.
    session.execute(_INSERT, values)
    noted(session)


def event_arrays(events: Sequence[tuple[int, str, DomainEvent]], now: dt.datetime) -> dict:
    """The parameters of `events_from_arrays` for some (org_id, key, event) triples, in order."""
    return {
        "ev_org_id": [org_id for org_id, _, _ in events],
        "ev_type": [ev.wire_name for _, _, ev in events],
        "ev_key": [key for _, key, _ in events],
        # The text the JSON column's own bind would have written (the engine's default serializer).
        "ev_data": [ev.payload_json() for _, _, ev in events],
        "now": now,
    }


@functools.cache
def events_from_arrays() -> sa.Insert:
    """PostgreSQL: insert the events given as parallel arrays (`event_arrays`), in array order (ids
    ascending as before); built once, so an order's events cost no statement building."""
    arrays = (
        sa.func.unnest(
            sa.bindparam("ev_org_id", type_=postgresql.ARRAY(sa.Integer)),
            sa.bindparam("ev_type", type_=postgresql.ARRAY(sa.String)),
            sa.bindparam("ev_key", type_=postgresql.ARRAY(sa.String)),
            sa.bindparam("ev_data", type_=postgresql.ARRAY(sa.Text)),
        )
        .table_valued("org_id", "type", "key", "data", with_ordinality="n")
        .render_derived(name="ev")
    )
    events = Event.__table__
    rows = sa.select(
        arrays.c.org_id,
        arrays.c.type,
        arrays.c.key,
        sa.cast(arrays.c.data, sa.JSON),
        sa.bindparam("now", type_=sa.DateTime(timezone=True)),
        sa.func.txid_current(),
    ).order_by(arrays.c.n)
    columns = [
        events.c.org_id,
        events.c.type,
        events.c.key,
        events.c.data,
        events.c.created_at,
        events.c.txid,
    ]
    return events.insert().from_select(columns, rows)


def noted(session: Session) -> None:
    """This transaction wrote events: number them before it commits, and wake the dispatchers.

    On PostgreSQL the wake-up (`pg_notify`) goes with the numbering, in its statement.
    """
    mark_unsequenced(session)
    if is_postgres(session):
        wrote_outbox_work(session)
    else:
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

    PostgreSQL: the lock is the row lock of `outbox_sequence`, taken by the update that reads and
    advances the counter (an update that waited for another writer's commit reads the row that
    writer left), the events are numbered from it and the dispatchers woken, in one statement.
    SQLite runs one writer at a time: the next numbers follow the highest given.
    """
    if not is_postgres(session):
        session.execute(_NUMBER_UNSEQUENCED)
        return
    wrote_outbox_work(session)
    if direct.run(session, _number_by_counter(), {})[0][0]:
        return
    # No counter row yet (a schema made by create_all): start it where the numbers are.
    session.execute(_START_COUNTER)
    direct.run(session, _number_by_counter(), {})


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


@functools.cache
def _number_by_counter() -> direct.Direct:
    """PostgreSQL: advance the counter by this transaction's unnumbered events, number them from
    it, and notify; returns how many counter rows there were (0: no counter row yet). It runs
    before every commit that wrote events: sent through the driver (`network.direct`)."""
    text = sa.text(
        """
        WITH mine AS (
            SELECT id, row_number() OVER (ORDER BY id) AS n FROM events WHERE seq IS NULL
        ), counter AS (
            UPDATE outbox_sequence SET last = last + (SELECT count(*) FROM mine) WHERE id = 1
            RETURNING last
        ), numbered AS (
            UPDATE events SET seq = counter.last - (SELECT count(*) FROM mine) + mine.n
            FROM mine, counter WHERE events.id = mine.id
        )
        SELECT (SELECT count(*) FROM counter), pg_notify(:channel, '')
        """
    ).bindparams(channel=CHANNEL)
    return direct.Direct(text)


_START_COUNTER = sa.text(
    "INSERT INTO outbox_sequence (id, last) SELECT 1, coalesce(max(seq), 0) FROM events "
    "ON CONFLICT (id) DO NOTHING"
)


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
