"""Fan-out: turn committed outbox events into deliveries for every endpoint that subscribed to them.

The fan-out reads the outbox behind one cursor, in (txid, id) order on PostgreSQL. The cursor only
moves past events whose writers are all finished: those with a txid below the xmin of a snapshot
taken first (`visible_events`' rule) — every event committed later belongs to a transaction at or
above that xmin, so it sorts after the cursor and is never skipped. (An id-only cursor could skip
one: a transaction that took a lower id may commit after one that took a higher id.)

Events above that horizon that have already committed are fanned out at once too, rather than
waiting for the oldest running transaction of the whole server (a long feed apply, another
database's batch) to end: that is what keeps a change's delivery within a second or two. They stay
above the cursor until the horizon passes them, so the caller passes the ids it already handled
(`seen`), and delivery rows are unique per (event, endpoint) besides: a repeat creates nothing.
SQLite has one writer at a time, so ids commit in order and the cursor is simply the last id.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Container
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.outbox.events import AvailabilityChanged, Ping
from network.outbox.models import PENDING, Delivery, Event, OutboxCursor, PendingItem, WebhookEndpoint
from network.outbox.rules import next_push_at, subscribes
from network.outbox.wakeup import announce

CURSOR = "webhooks"
BATCH = 1000
COALESCED_KEY = "~coalesced-availability"
AVAILABILITY = AvailabilityChanged.wire_name


def _insert(session: Session, model: type) -> sa.Insert:
    return (postgresql.insert if is_postgres(session) else sqlite.insert)(model)


def _lock_cursor(session: Session, now: dt.datetime) -> OutboxCursor | None:
    """Take the fan-out cursor, or return None while another dispatcher holds it (PostgreSQL)."""
    query = sa.select(OutboxCursor).where(OutboxCursor.name == CURSOR)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    cursor = session.scalar(query)
    if cursor is not None:
        return cursor
    created = session.execute(
        _insert(session, OutboxCursor)
        .values(name=CURSOR, last_txid=0, last_event_id=0, updated_at=now)
        .on_conflict_do_nothing()
    ).rowcount
    return session.scalar(query) if created else None


@dataclass(frozen=True)
class FanOut:
    passed: int
    # (event id, txid) fanned out above the horizon: the caller skips them next time.
    beyond: tuple[tuple[int, int], ...] = ()
    # Where the cursor stands now, (txid, id): the caller forgets what it skipped below it.
    cursor: tuple[int, int] = (0, 0)
    more: bool = False
    # The endpoints given deliveries (or owed items, throttled ones).
    endpoints: frozenset[int] = frozenset()


def _horizon(session: Session) -> int | None:
    """The xmin of a fresh snapshot: every transaction still to commit has a txid at or above it."""
    if not is_postgres(session):
        return None
    return session.scalar(sa.select(sa.func.txid_snapshot_xmin(sa.func.txid_current_snapshot())))


def _page(session: Session, after: tuple[int, int], size: int) -> list[sa.Row]:
    query = sa.select(Event.id, Event.txid, Event.org_id, Event.type, Event.key, Event.created_at)
    if is_postgres(session):
        query = query.where(
            sa.tuple_(Event.txid, Event.id) > sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
        ).order_by(Event.txid, Event.id)
    else:
        query = query.where(Event.id > after[1]).order_by(Event.id)
    return session.execute(query.limit(size)).all()


def fan_out(
    session: Session,
    *,
    now: dt.datetime,
    retry_for: dt.timedelta,
    seen: Container[int] = frozenset(),
    limit: int = BATCH,
    announce_work: bool = True,
) -> FanOut:
    """Create the deliveries of up to `limit` new committed events.

    With `announce_work` every dispatcher is woken at the commit to share them; a dispatcher that
    claims them itself in the same transaction passes False and announces only what it leaves.
    """
    horizon = _horizon(session)  # before the cursor lock gives this transaction a txid of its own
    cursor = _lock_cursor(session, now)
    if cursor is None:
        return FanOut(0)
    position = (cursor.last_txid, cursor.last_event_id)
    advance_to: tuple[int, int] | None = None
    todo: list[sa.Row] = []
    more = False
    while not more:
        rows = _page(session, position, limit)
        for row in rows:
            if row.id not in seen:
                if len(todo) == limit:
                    more = True
                    break
                todo.append(row)
            position = (row.txid or 0, row.id)
            if horizon is None or (row.txid is not None and row.txid < horizon):
                advance_to = position
        if len(rows) < limit:
            break
    endpoints = _fan_out_rows(session, todo, now=now, retry_for=retry_for)
    if endpoints and announce_work:
        announce(session)  # other dispatchers may take part of the work
    if advance_to is not None:
        cursor.last_txid, cursor.last_event_id = advance_to
        cursor.updated_at = now
    beyond = tuple(
        (row.id, row.txid)
        for row in todo
        if horizon is not None and (row.txid is None or row.txid >= horizon)
    )
    return FanOut(len(todo), beyond, (cursor.last_txid, cursor.last_event_id), more, endpoints)


def _fan_out_rows(
    session: Session, events: list[sa.Row], *, now: dt.datetime, retry_for: dt.timedelta
) -> frozenset[int]:
    """Create the events' deliveries; return the endpoints that got any (or owed items)."""
    if not events:
        return frozenset()
    endpoints = _endpoints_by_org(session, {e.org_id for e in events})
    deliveries: list[dict] = []
    pending: dict[tuple[int, str], int] = {}
    # Id order, not (txid, id): writers of one item take its row lock in turn and each inserts its
    # event after the previous one committed, so ids follow their order; deliveries keep it.
    for event in sorted(events, key=lambda e: e.id):
        if event.type == Ping.wire_name:
            continue  # a ping is addressed to one endpoint when it is recorded
        for endpoint in endpoints.get(event.org_id, ()):
            # An endpoint hears what happens from its creation on, not the history before it.
            if endpoint.created_at > event.created_at or not subscribes(endpoint.events, event.type):
                continue
            if endpoint.min_interval_seconds and event.type == AVAILABILITY:
                pending[(endpoint.id, event.key)] = max(event.id, pending.get((endpoint.id, event.key), 0))
                continue
            deliveries.append(
                {
                    "endpoint_id": endpoint.id,
                    "event_id": event.id,
                    "type": event.type,
                    "key": event.key,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "retry_until": now + retry_for,
                    # The event's: the unique key (event, endpoint, created_at) then holds however
                    # often the fan-out meets the event (see Delivery.created_at).
                    "created_at": event.created_at,
                }
            )
    if deliveries:
        session.execute(_insert(session, Delivery).on_conflict_do_nothing(), deliveries)
    if pending:
        mark_pending(session, pending, now=now, retry_for=retry_for)
    return frozenset(d["endpoint_id"] for d in deliveries) | {endpoint_id for endpoint_id, _ in pending}


def _endpoints_by_org(session: Session, org_ids: set[int]) -> dict[int, list[WebhookEndpoint]]:
    found: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in session.scalars(
        sa.select(WebhookEndpoint).where(WebhookEndpoint.org_id.in_(org_ids), WebhookEndpoint.active)
    ):
        found[endpoint.org_id].append(endpoint)
    return found


def mark_pending(
    session: Session, pending: dict[tuple[int, str], int], *, now: dt.datetime, retry_for: dt.timedelta
) -> None:
    """Remember items whose figure a throttled endpoint owes, and make sure a push is scheduled."""
    endpoint_ids = sorted({endpoint_id for endpoint_id, _ in pending})
    # Serialize with the recording of a push's outcome, which clears pending rows and decides
    # whether another push is needed: without the lock, both could conclude the other one would.
    lock = sa.select(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids)).order_by(WebhookEndpoint.id)
    if is_postgres(session):
        lock = lock.with_for_update(key_share=True)  # NO KEY UPDATE: see sending.record_outcomes
    endpoints = list(session.scalars(lock))
    stmt = _insert(session, PendingItem)
    stmt = stmt.on_conflict_do_update(
        index_elements=[PendingItem.endpoint_id, PendingItem.retailer_sku],
        set_={"last_event_id": sa.func.max(PendingItem.last_event_id, stmt.excluded.last_event_id)}
        if not is_postgres(session)
        else {"last_event_id": sa.func.greatest(PendingItem.last_event_id, stmt.excluded.last_event_id)},
    )
    session.execute(
        stmt,
        [
            {"endpoint_id": endpoint_id, "retailer_sku": sku, "last_event_id": event_id}
            for (endpoint_id, sku), event_id in sorted(pending.items())
        ],
    )
    for endpoint in endpoints:
        schedule_push(session, endpoint, now=now, retry_for=retry_for)


def touch_pending(
    session: Session, pending: set[tuple[int, str]], *, now: dt.datetime, retry_for: dt.timedelta
) -> None:
    """Owe throttled endpoints items whose figure for them moved without an event (an automatic
    buffer's term stepping as a count ages, network/availability/aging.py), and schedule a push.

    A new row takes 0; an existing one is bumped past the value a push in flight may have covered,
    so that push leaves it owed (sending._clear_pushed deletes only the value it covered)."""
    if not pending:
        return
    endpoint_ids = sorted({endpoint_id for endpoint_id, _ in pending})
    lock = sa.select(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids)).order_by(WebhookEndpoint.id)
    if is_postgres(session):
        lock = lock.with_for_update(key_share=True)  # NO KEY UPDATE: see sending.record_outcomes
    endpoints = list(session.scalars(lock))
    stmt = _insert(session, PendingItem)
    stmt = stmt.on_conflict_do_update(
        index_elements=[PendingItem.endpoint_id, PendingItem.retailer_sku],
        set_={"last_event_id": PendingItem.last_event_id + 1},
    )
    session.execute(
        stmt,
        [
            {"endpoint_id": endpoint_id, "retailer_sku": sku, "last_event_id": 0}
            for endpoint_id, sku in sorted(pending)
        ],
    )
    for endpoint in endpoints:
        schedule_push(session, endpoint, now=now, retry_for=retry_for)
    announce(session)


def schedule_push(
    session: Session, endpoint: WebhookEndpoint, *, now: dt.datetime, retry_for: dt.timedelta
) -> Delivery | None:
    """Create the endpoint's next coalesced push if items are pending and none is scheduled yet.

    The caller holds the endpoint's row lock.
    """
    scheduled = session.scalar(
        sa.select(Delivery.id).where(
            Delivery.endpoint_id == endpoint.id, Delivery.event_id.is_(None), Delivery.status == PENDING
        )
    )
    if scheduled is not None:
        return None
    has_pending = session.scalar(
        sa.select(PendingItem.retailer_sku).where(PendingItem.endpoint_id == endpoint.id).limit(1)
    )
    if has_pending is None:
        return None
    delivery = Delivery(
        endpoint_id=endpoint.id,
        event_id=None,
        type=AVAILABILITY,
        key=COALESCED_KEY,
        status=PENDING,
        attempts=0,
        next_attempt_at=next_push_at(endpoint.last_push_at, endpoint.min_interval_seconds, now),
        retry_until=now + retry_for,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery
