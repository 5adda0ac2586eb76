"""Delivery, the claiming half: take an endpoint's lease and its next due delivery, build the body.

One delivery is in flight per endpoint at a time: a dispatcher takes the endpoint's lease
(`lease_until`, `lease_token`) in a short transaction, commits, sends (`sending`), then records the
outcome and, while it still holds the lease, takes the endpoint's next due delivery in the same
short transaction. Deliveries of one key (an item, an order) go out in order: one waits while an
earlier one of the same key is pending. A killed dispatcher's lease simply expires, and the
delivery is sent again with the same id (at-least-once).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from network.availability.services import read_availability
from network.db import is_postgres
from network.outbox.events import AvailabilityChanged
from network.outbox.models import PENDING, Delivery, Event, PendingItem, WebhookEndpoint
from network.outbox.rules import channel_figure, channel_interval_minutes
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox

log = logging.getLogger(__name__)

MAX_ITEMS_PER_PUSH = 5000
MAX_ERROR_LENGTH = 500
CANDIDATES = 1000
UNREADABLE_SECRET_WAIT = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, ready to send: the exact bytes and who may sign them."""

    delivery_id: int
    endpoint_id: int
    lease_token: str
    url: str
    body: bytes
    secrets: tuple[str, ...]
    attempt_at: dt.datetime
    coalesced: bool = False
    # For a coalesced push: the (sku, last_event_id) pairs its figures answer.
    covered: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# --- claiming -----------------------------------------------------------------------------------


def _is_free(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.or_(WebhookEndpoint.lease_token.is_(None), WebhookEndpoint.lease_until < now)


def claim(
    session: Session,
    *,
    now: dt.datetime,
    settings: WebhookSettings,
    box: SecretBox,
    limit: int,
    exclude: Sequence[int] = (),
) -> list[Outgoing]:
    """Lease up to `limit` endpoints that have a due delivery and prepare one delivery for each.

    On PostgreSQL endpoints another dispatcher is leasing right now are skipped (SKIP LOCKED),
    and the lease is re-checked on the row it locks, so two dispatchers never hold one endpoint.
    """
    if limit <= 0:
        return []
    candidates = sa.select(Delivery.endpoint_id).where(*_due(now)).distinct().limit(CANDIDATES)
    query = (
        sa.select(WebhookEndpoint)
        .where(
            WebhookEndpoint.id.in_(candidates),
            WebhookEndpoint.active,
            _is_free(now),
        )
        .order_by(WebhookEndpoint.lease_until.asc().nulls_first(), WebhookEndpoint.id)
        .limit(limit)
    )
    if exclude:
        query = query.where(WebhookEndpoint.id.not_in(list(exclude)))
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    endpoints = list(session.scalars(query))
    if not endpoints:
        return []
    prepared = _prepare(session, endpoints, now=now, settings=settings, box=box)
    return [outgoing for outgoing in prepared if outgoing is not None]


def _prepare(
    session: Session,
    endpoints: Sequence[WebhookEndpoint],
    *,
    now: dt.datetime,
    settings: WebhookSettings,
    box: SecretBox,
) -> list[Outgoing | None]:
    """Lease each endpoint for its first due delivery and render it (None: nothing it can send),
    in three queries whatever the number of endpoints."""
    due = _next_due_many(session, [endpoint.id for endpoint in endpoints], now) if endpoints else {}
    event_ids = [d.event_id for d in due.values() if d.event_id is not None]
    events = (
        {e.id: e for e in session.scalars(sa.select(Event).where(Event.id.in_(event_ids)))}
        if event_ids
        else {}
    )
    prepared: list[Outgoing | None] = []
    for endpoint in endpoints:
        delivery = due.get(endpoint.id)
        outgoing = None
        if delivery is not None:
            event = events.get(delivery.event_id) if delivery.event_id is not None else None
            outgoing = _lease(session, endpoint, delivery, event, now=now, settings=settings, box=box)
        prepared.append(outgoing)
    return prepared


def _due(now: dt.datetime) -> list[sa.ColumnElement[bool]]:
    """A delivery that may go now: pending, its time come, not claimed, no earlier one of its key pending."""
    earlier = aliased(Delivery)
    blocked = (
        sa.select(earlier.id)
        .where(
            earlier.endpoint_id == Delivery.endpoint_id,
            earlier.key == Delivery.key,
            earlier.status == PENDING,
            earlier.id < Delivery.id,
        )
        .exists()
    )
    return [
        Delivery.status == PENDING,
        Delivery.next_attempt_at <= now,
        sa.or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        ~blocked,
    ]


def _next_due_many(session: Session, endpoint_ids: Sequence[int], now: dt.datetime) -> dict[int, Delivery]:
    """The first due delivery of each endpoint, in one query."""
    ranked = (
        sa.select(
            Delivery.id,
            sa.func.row_number().over(partition_by=Delivery.endpoint_id, order_by=Delivery.id).label("rank"),
        )
        .where(Delivery.endpoint_id.in_(endpoint_ids), *_due(now))
        .subquery()
    )
    first = sa.select(ranked.c.id).where(ranked.c.rank == 1)
    return {d.endpoint_id: d for d in session.scalars(sa.select(Delivery).where(Delivery.id.in_(first)))}


def prepare_next(
    session: Session,
    endpoints: Sequence[WebhookEndpoint],
    *,
    now: dt.datetime,
    settings: WebhookSettings,
    box: SecretBox,
) -> list[Outgoing | None]:
    """Lease endpoints (whose leases the caller holds) for their next due deliveries and render
    them; release each one that has none it can send (None in its place)."""
    active = [endpoint for endpoint in endpoints if endpoint.active]
    prepared = dict(
        zip(
            [e.id for e in active],
            _prepare(session, active, now=now, settings=settings, box=box),
            strict=True,
        )
    )
    result = []
    for endpoint in endpoints:
        outgoing = prepared.get(endpoint.id)
        if outgoing is None:
            endpoint.lease_token = None
        result.append(outgoing)
    return result


def _lease(
    session: Session,
    endpoint: WebhookEndpoint,
    delivery: Delivery,
    event: Event | None,
    *,
    now: dt.datetime,
    settings: WebhookSettings,
    box: SecretBox,
) -> Outgoing | None:
    """Take the endpoint's lease for one delivery and render the bytes it will carry.

    An endpoint whose secret cannot be read (SECRET_KEY changed) is not sent to: its delivery
    records why and waits an hour, and the other endpoints carry on.
    """
    try:
        secrets = signing_secrets(endpoint, box, now=now)
    except ValueError as exc:
        delivery.last_error = f"{exc}: rotate the endpoint's secret"[:MAX_ERROR_LENGTH]
        delivery.next_attempt_at = now + UNREADABLE_SECRET_WAIT
        return None
    token = uuid.uuid4().hex
    endpoint.lease_token = token
    endpoint.lease_until = now + settings.lease
    delivery.claimed_until = endpoint.lease_until
    covered: tuple[tuple[str, int], ...] = ()
    if event is None:
        body, covered = _coalesced_body(session, endpoint, delivery, now=now)
        endpoint.last_push_at = now
    else:
        body = render_body(str(event.id), event.type, event.created_at, _for_channel(endpoint, event))
    return Outgoing(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        lease_token=token,
        url=endpoint.url,
        body=body,
        secrets=secrets,
        attempt_at=now,
        coalesced=event is None,
        covered=covered,
    )


def signing_secrets(endpoint: WebhookEndpoint, box: SecretBox, *, now: dt.datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while its rotation grace lasts."""
    found = [box.open(endpoint.secret_sealed)]
    if (
        endpoint.previous_secret_sealed
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        with contextlib.suppress(ValueError):  # unreadable: the rotation was the way out of it
            found.append(box.open(endpoint.previous_secret_sealed))
    return tuple(found)


def render_body(event_id: str, event_type: str, created_at: dt.datetime, data: dict) -> bytes:
    """The JSON body every receiver gets: `{id, type, created_at, data}`."""
    document = {"id": event_id, "type": event_type, "created_at": created_at.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=False).encode()


def _for_channel(endpoint: WebhookEndpoint, event: Event) -> dict:
    """Apply the channel's buffer and cap to an availability figure; other events pass unchanged.

    Only unthrottled endpoints take availability events one by one: corrected at every change, their
    automatic buffer is 0 (a throttled endpoint's figures go out coalesced, `_coalesced_body`)."""
    data = dict(event.data)
    if event.type != AvailabilityChanged.wire_name or not (
        endpoint.buffer or endpoint.max_quantity is not None
    ):
        return data
    for name in ("available", "previous"):
        if data.get(name) is not None:
            data[name] = channel_figure(
                data[name], buffer=endpoint.buffer, max_quantity=endpoint.max_quantity
            )
    return data


def _coalesced_body(
    session: Session, endpoint: WebhookEndpoint, delivery: Delivery, *, now: dt.datetime
) -> tuple[bytes, tuple[tuple[str, int], ...]]:
    """Read the fresh figure of every pending item now, so a push never carries an outdated one."""
    pending = session.execute(
        sa.select(PendingItem.retailer_sku, PendingItem.last_event_id)
        .where(PendingItem.endpoint_id == endpoint.id)
        .order_by(PendingItem.retailer_sku)
        .limit(MAX_ITEMS_PER_PUSH)
    ).all()
    skus = [row.retailer_sku for row in pending]
    figures = (
        read_availability(
            session,
            retailer_id=endpoint.org_id,
            skus=skus,
            after_id=0,
            limit=len(skus) or 1,
            now=now,
            channel_minutes=channel_interval_minutes(endpoint.buffer, endpoint.min_interval_seconds),
        )
        if skus
        else []
    )
    items = [
        {
            "retailer_sku": item.retailer_sku,
            "available": channel_figure(
                item.available,
                buffer=endpoint.buffer,
                max_quantity=endpoint.max_quantity,
                automatic=item.channel_units,
            ),
            "updated_at": item.updated_at.isoformat(),
        }
        for item in sorted(figures, key=lambda i: i.retailer_sku)
    ]
    data = {"coalesced": True, "items": items}
    body = render_body(f"push-{delivery.id}", AvailabilityChanged.wire_name, now, data)
    return body, tuple((row.retailer_sku, row.last_event_id) for row in pending)
