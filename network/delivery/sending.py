"""Delivery, the sending half: POST a claimed delivery outside any transaction, then record what the
receiver said (delivered, retried later, or dead) and take the endpoint's next due one (`claims`).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import requests
import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.delivery.claims import MAX_ERROR_LENGTH, Outcome, Outgoing, prepare_next
from network.outbox.fanout import schedule_push
from network.outbox.models import DEAD, DELIVERED, PENDING, Delivery, PendingItem, WebhookEndpoint
from network.outbox.rules import next_push_at, retry_delay
from network.outbox.settings import WebhookSettings
from network.outbox.signing import DELIVERY_HEADER, SIGNATURE_HEADER, SecretBox, signature_header
from network.outbox.urls import url_problem

log = logging.getLogger(__name__)

RESPONSE_SNIPPET_BYTES = 1024

ATTEMPTS = Counter("dropnet_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
ATTEMPT_SECONDS = Histogram("dropnet_webhook_attempt_seconds", "Duration of one webhook attempt")


_http = threading.local()


def _http_session() -> requests.Session:
    session = getattr(_http, "session", None)
    if session is None:
        session = _http.session = requests.Session()
    return session


def send(outgoing: Outgoing, *, settings: WebhookSettings, clock_seconds: float | None = None) -> Outcome:
    """POST one delivery; a 2xx answer acknowledges it. Never raises for what the receiver does."""
    problem = url_problem(outgoing.url, settings)
    if problem:
        ATTEMPTS.labels("refused").inc()
        return Outcome(None, f"refused: {problem}")
    timestamp = int(clock_seconds if clock_seconds is not None else time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Dropnet-Webhooks/1",
        SIGNATURE_HEADER: signature_header(outgoing.secrets, timestamp, outgoing.body),
        DELIVERY_HEADER: str(outgoing.delivery_id),
    }
    budget = settings.timeout_seconds
    connect = min(3.05, budget / 2)
    started = time.monotonic()
    try:
        with _http_session().post(
            outgoing.url,
            data=outgoing.body,
            headers=headers,
            timeout=(connect, max(0.1, budget - connect)),
            allow_redirects=False,
            stream=True,
        ) as response:
            snippet = _read_some(response, deadline=started + budget)
            code = response.status_code
    except requests.RequestException as exc:
        ATTEMPTS.labels("error").inc()
        ATTEMPT_SECONDS.observe(time.monotonic() - started)
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])
    ATTEMPT_SECONDS.observe(time.monotonic() - started)
    if 200 <= code < 300:
        ATTEMPTS.labels("delivered").inc()
        return Outcome(code, None)
    ATTEMPTS.labels("refused_by_receiver").inc()
    return Outcome(code, f"HTTP {code}: {snippet}"[:MAX_ERROR_LENGTH])


def _read_some(response: requests.Response, *, deadline: float) -> str:
    """Read the start of the answer (for the error log), stopping at the time budget."""
    data = b""
    for chunk in response.iter_content(256):
        data += chunk
        if len(data) >= RESPONSE_SNIPPET_BYTES or time.monotonic() > deadline:
            break
    return data[:RESPONSE_SNIPPET_BYTES].decode("utf-8", "replace")


# --- recording the outcome ----------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """A delivery sent, what the receiver said, and whether its thread wants the endpoint's next."""

    outgoing: Outgoing
    outcome: Outcome
    take_next: bool = False


def record_outcomes(
    session: Session,
    attempts: Sequence[Attempt],
    *,
    now: dt.datetime,
    settings: WebhookSettings,
    box: SecretBox,
    rng: random.Random,
) -> list[Outgoing | None]:
    """Record attempts (one transaction for many endpoints' outcomes); for each, the endpoint's next
    delivery if its lease is still ours, it succeeded and `take_next`, else None (lease released).

    The endpoints are locked in id order, as every writer that locks several of them does
    (fanout.mark_pending), so two dispatchers recording at once wait for each other, never deadlock.
    The lock is FOR NO KEY UPDATE: the fan-out inserting deliveries holds its endpoints' rows FOR KEY
    SHARE (the foreign key) in any order, and FOR UPDATE waited on those, a deadlock between
    worker processes (tests/webhooks/test_record_during_fanout.py).
    """
    endpoint_ids = sorted({attempt.outgoing.endpoint_id for attempt in attempts})
    query = (
        sa.select(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids)).order_by(WebhookEndpoint.id)
    )
    if is_postgres(session):
        query = query.with_for_update(key_share=True)
    endpoints = {endpoint.id: endpoint for endpoint in session.scalars(query)}
    delivery_ids = [attempt.outgoing.delivery_id for attempt in attempts]
    deliveries = {d.id: d for d in session.scalars(sa.select(Delivery).where(Delivery.id.in_(delivery_ids)))}
    results: list[Outgoing | None] = [None] * len(attempts)
    wanting: dict[int, int] = {}  # endpoint id → the attempt whose thread takes its next delivery
    for index, attempt in enumerate(attempts):
        outgoing, outcome = attempt.outgoing, attempt.outcome
        endpoint = endpoints.get(outgoing.endpoint_id)
        _record(session, deliveries.get(outgoing.delivery_id), endpoint, outgoing, outcome, now=now, rng=rng)
        if endpoint is None:
            continue
        if outgoing.coalesced:
            # Changes that arrived while this push was on its way need a push of their own.
            session.flush()
            schedule_push(session, endpoint, now=now, retry_for=settings.retry_for)
        if endpoint.lease_token != outgoing.lease_token:
            continue  # the lease expired and another dispatcher took the endpoint over
        if attempt.take_next and outcome.ok and endpoint.id not in wanting:
            wanting[endpoint.id] = index
        else:
            endpoint.lease_token = None
    if wanting:
        session.flush()
        taking = [endpoints[endpoint_id] for endpoint_id in wanting]
        for endpoint, outgoing in zip(
            taking, prepare_next(session, taking, now=now, settings=settings, box=box), strict=True
        ):
            results[wanting[endpoint.id]] = outgoing
    return results


def _record(
    session: Session,
    delivery: Delivery | None,
    endpoint: WebhookEndpoint | None,
    outgoing: Outgoing,
    outcome: Outcome,
    *,
    now: dt.datetime,
    rng: random.Random,
) -> None:
    """Write one attempt on its delivery: delivered, retried later, or dead after its retry window."""
    if delivery is None or delivery.status != PENDING:
        return
    delivery.attempts += 1
    delivery.last_attempt_at = outgoing.attempt_at
    delivery.last_status_code = outcome.status_code
    delivery.claimed_until = None
    if outcome.ok:
        delivery.status = DELIVERED
        delivery.delivered_at = now
        delivery.last_error = None
        if outgoing.covered:
            _clear_pushed(session, outgoing)
        return
    delivery.last_error = (outcome.error or "")[:MAX_ERROR_LENGTH]
    if now >= delivery.retry_until:
        delivery.status = DEAD
        return
    retry_at = now + retry_delay(delivery.attempts, rng)
    if delivery.event_id is None and endpoint is not None:
        retry_at = max(retry_at, next_push_at(endpoint.last_push_at, endpoint.min_interval_seconds, now))
    delivery.next_attempt_at = retry_at


def _clear_pushed(session: Session, outgoing: Outgoing) -> None:
    """Forget pending items the push answered; an item that changed again meanwhile stays pending."""
    session.connection().execute(
        sa.delete(PendingItem).where(
            PendingItem.endpoint_id == outgoing.endpoint_id,
            PendingItem.retailer_sku == sa.bindparam("sku"),
            PendingItem.last_event_id == sa.bindparam("event_id"),
        ),
        [{"sku": sku, "event_id": event_id} for sku, event_id in outgoing.covered],
    )
