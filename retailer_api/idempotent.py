"""Answer a write once per Idempotency-Key: repeats get the first answer and create nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Response, json

from network.db import transaction
from network.extensions import db
from network.idempotency import services as idempotency


def respond_once(
    *,
    org_id: int,
    key: str,
    scope: str,
    body: object,
    now: dt.datetime,
    handle: Callable[[], tuple[int, dict]],
) -> Response:
    """Run `handle` in one transaction with the key's claim and its stored answer, or replay the answer.

    Raises Conflict when the key was used with another request.
    """
    digest = idempotency.request_hash(body)
    with transaction(db.session):
        claimed = idempotency.claim(db.session, org_id=org_id, key=key, scope=scope, digest=digest, now=now)
        if isinstance(claimed, idempotency.StoredAnswer):
            stored = claimed
        else:
            stored = None
            status, answer = handle()
            idempotency.store_answer(db.session, claimed, status=status, body=answer)
    if stored is not None:
        response = _json(stored.status, stored.body)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    return _json(status, answer)


def _json(status: int, body: dict) -> Response:
    mimetype = "application/problem+json" if status >= 400 else "application/json"
    return Response(json.dumps(body), status=status, mimetype=mimetype)
