"""Webhook endpoints of an organization (retailer now, vendor later) and their deliveries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.errors import Conflict, InvalidInput, NotFound
from network.outbox.events import Ping
from network.outbox.models import DELIVERY_STATUSES, PENDING, Delivery, Event, WebhookEndpoint
from network.outbox.services import mark_unsequenced
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox, generate_secret
from network.outbox.urls import check_url
from network.outbox.wakeup import announce
from network.partners import audit

EVENT_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$")
MAX_PATTERNS = 50
UPDATABLE = ("url", "events", "description", "min_interval_seconds", "buffer", "max_quantity", "active")
# What the audit log shows of an endpoint (never its secret).
AUDITED = ("url", "events", "description", "min_interval_seconds", "buffer", "max_quantity", "active")


def _audited(endpoint: WebhookEndpoint, names: Sequence[str] = AUDITED) -> dict:
    return {name: getattr(endpoint, name) for name in names}


def _subject(endpoint: WebhookEndpoint) -> str:
    return f"webhook endpoint {endpoint.id} ({endpoint.url})"[:200]


def _check_events(events: Sequence[str]) -> list[str]:
    """Raises InvalidInput for an empty list or a name that is not an event type or pattern."""
    bad = [name for name in events if not EVENT_PATTERN.match(name)]
    if not events or len(events) > MAX_PATTERNS or bad:
        message = f"give 1 to {MAX_PATTERNS} event types (e.g. availability.changed, po.*, or *)"
        raise InvalidInput(
            "invalid event types", errors={"events": [message, *(f"{b!r} is not one" for b in bad)]}
        )
    return list(dict.fromkeys(events))


def create_endpoint(
    session: Session,
    *,
    org_id: int,
    url: str,
    events: Sequence[str],
    min_interval_seconds: int = 0,
    buffer: int | None = None,
    max_quantity: int | None = None,
    description: str = "",
    settings: WebhookSettings,
    box: SecretBox,
    actor: audit.Actor,
    now: dt.datetime,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; return it with its signing secret (the only time it is shown).

    The audit log names the `actor` (an API client, a console user). Raises InvalidInput for a
    refused URL or event list.
    """
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        org_id=org_id,
        url=check_url(url, settings),
        events=_check_events(events),
        description=description,
        secret_sealed=box.seal(secret),
        min_interval_seconds=min_interval_seconds,
        buffer=buffer,
        max_quantity=max_quantity,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        org_id=org_id,
        actor=actor,
        action="webhook_endpoint.created",
        subject=_subject(endpoint),
        before=None,
        after=_audited(endpoint),
        now=now,
    )
    return endpoint, secret


def list_endpoints(session: Session, *, org_id: int, after_id: int, limit: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id == org_id, WebhookEndpoint.id > after_id)
            .order_by(WebhookEndpoint.id)
            .limit(limit)
        )
    )


def get_endpoint(session: Session, endpoint_id: int, *, org_id: int, lock: bool = False) -> WebhookEndpoint:
    """Raises NotFound, also for another organization's endpoint."""
    query = sa.select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.org_id == org_id
    )
    if lock and is_postgres(session):
        query = query.with_for_update()
    endpoint = session.scalar(query)
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return endpoint


def update_endpoint(
    session: Session,
    endpoint_id: int,
    *,
    org_id: int,
    changes: Mapping[str, object],
    settings: WebhookSettings,
    actor: audit.Actor,
    now: dt.datetime,
) -> WebhookEndpoint:
    """Change an endpoint's URL, events, throttle, channel figures or active flag.

    Raises NotFound, InvalidInput.
    """
    endpoint = get_endpoint(session, endpoint_id, org_id=org_id, lock=True)
    was = _audited(endpoint)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput("unknown fields", errors={name: ["cannot be changed"] for name in sorted(unknown)})
    if "url" in changes:
        endpoint.url = check_url(str(changes["url"]), settings)
    if "events" in changes:
        endpoint.events = _check_events(changes["events"])  # type: ignore[arg-type]
    for name in ("description", "min_interval_seconds", "buffer", "max_quantity", "active"):
        if name in changes:
            setattr(endpoint, name, changes[name])
    endpoint.updated_at = now
    session.flush()
    moved = [name for name in AUDITED if was[name] != getattr(endpoint, name)]
    if moved:  # as for terms: the log records changes, not saves that changed nothing
        audit.record(
            session,
            org_id=org_id,
            actor=actor,
            action="webhook_endpoint.changed",
            subject=_subject(endpoint),
            before={name: was[name] for name in moved},
            after=_audited(endpoint, moved),
            now=now,
        )
    return endpoint


def delete_endpoint(
    session: Session, endpoint_id: int, *, org_id: int, actor: audit.Actor, now: dt.datetime
) -> None:
    """Remove an endpoint with its pending deliveries. Raises NotFound."""
    endpoint = get_endpoint(session, endpoint_id, org_id=org_id, lock=True)
    audit.record(
        session,
        org_id=org_id,
        actor=actor,
        action="webhook_endpoint.deleted",
        subject=_subject(endpoint),
        before=_audited(endpoint),
        after=None,
        now=now,
    )
    session.execute(sa.delete(Delivery).where(Delivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()


def rotate_secret(
    session: Session,
    endpoint_id: int,
    *,
    org_id: int,
    settings: WebhookSettings,
    box: SecretBox,
    actor: audit.Actor,
    now: dt.datetime,
) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new secret; the old one keeps signing too for the grace period.

    Raises NotFound.
    """
    endpoint = get_endpoint(session, endpoint_id, org_id=org_id, lock=True)
    secret = generate_secret()
    endpoint.previous_secret_sealed = endpoint.secret_sealed
    endpoint.previous_secret_expires_at = now + settings.rotation_grace
    endpoint.secret_sealed = box.seal(secret)
    endpoint.updated_at = now
    session.flush()
    audit.record(
        session,
        org_id=org_id,
        actor=actor,
        action="webhook_endpoint.secret_rotated",
        subject=_subject(endpoint),
        before=None,  # secrets never enter the log, only when the old one stops signing
        after={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
        now=now,
    )
    return endpoint, secret


def ping_endpoint(
    session: Session, endpoint_id: int, *, org_id: int, settings: WebhookSettings, now: dt.datetime
) -> Delivery:
    """Record a `ping` event and owe it to this endpoint only. Raises NotFound."""
    endpoint = get_endpoint(session, endpoint_id, org_id=org_id)
    event = Event(
        org_id=org_id,
        type=Ping.wire_name,
        key=f"ping:{endpoint.id}",
        data=Ping(endpoint_id=endpoint.id).payload(),
        created_at=now,
        txid=sa.func.txid_current() if is_postgres(session) else None,
    )
    session.add(event)
    session.flush()
    delivery = _owe(session, endpoint, event, settings=settings, now=now)
    mark_unsequenced(session)
    announce(session)
    return delivery


def _owe(
    session: Session, endpoint: WebhookEndpoint, event: Event, *, settings: WebhookSettings, now: dt.datetime
) -> Delivery:
    delivery = Delivery(
        endpoint_id=endpoint.id,
        event_id=event.id,
        type=event.type,
        key=event.key,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        retry_until=now + settings.retry_for,
        created_at=event.created_at,  # an event's deliveries carry its time (Delivery.created_at)
    )
    session.add(delivery)
    session.flush()
    return delivery


def list_deliveries(
    session: Session,
    endpoint_id: int,
    *,
    org_id: int,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> list[Delivery]:
    """Return an endpoint's deliveries, newest first (the dead letters with status="dead").

    Raises NotFound, InvalidInput.
    """
    endpoint = get_endpoint(session, endpoint_id, org_id=org_id)
    query = sa.select(Delivery).where(Delivery.endpoint_id == endpoint.id)
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise InvalidInput(
                "unknown status", errors={"status": [f"one of {', '.join(DELIVERY_STATUSES)}"]}
            )
        query = query.where(Delivery.status == status)
    if before_id:
        query = query.where(Delivery.id < before_id)
    return list(session.scalars(query.order_by(Delivery.id.desc()).limit(limit)))


def get_delivery(session: Session, delivery_id: int, *, org_id: int, lock: bool = False) -> Delivery:
    """Raises NotFound, also for another organization's delivery."""
    query = (
        sa.select(Delivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
        .where(Delivery.id == delivery_id, WebhookEndpoint.org_id == org_id)
    )
    if lock and is_postgres(session):
        query = query.with_for_update(of=Delivery)
    delivery = session.scalar(query)
    if delivery is None:
        raise NotFound(f"webhook delivery {delivery_id} not found")
    return delivery


def replay_delivery(
    session: Session,
    delivery_id: int,
    *,
    org_id: int,
    settings: WebhookSettings,
    actor: audit.Actor,
    now: dt.datetime,
) -> Delivery:
    """Send a dead (or delivered) delivery again, with the same delivery id and a new retry window.

    Raises NotFound, Conflict when it is still pending.
    """
    delivery = get_delivery(session, delivery_id, org_id=org_id, lock=True)
    if delivery.status == PENDING:
        raise Conflict(f"webhook delivery {delivery_id} is still pending; it will be retried")
    audit.record(
        session,
        org_id=org_id,
        actor=actor,
        action="webhook_delivery.replayed",
        subject=f"webhook delivery {delivery.id} ({delivery.type}) to endpoint {delivery.endpoint_id}",
        before={"status": delivery.status, "attempts": delivery.attempts},
        after={"status": PENDING},
        now=now,
    )
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.retry_until = now + settings.retry_for
    delivery.claimed_until = None
    session.flush()
    announce(session)
    return delivery


def prune_deliveries(session: Session, *, before: dt.datetime, limit: int = 10_000) -> int:
    """Forget finished deliveries (delivered or dead) created before a moment; return how many.

    Pending ones are never pruned: they are still owed.
    """
    doomed = (
        sa.select(Delivery.id)
        .where(Delivery.status != PENDING, Delivery.created_at < before)
        .order_by(Delivery.id)
        .limit(limit)
        .scalar_subquery()
    )
    return session.execute(sa.delete(Delivery).where(Delivery.id.in_(doomed))).rowcount
