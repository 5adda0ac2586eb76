"""Answer a write once per Idempotency-Key: repeats get the first answer and create nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Response, json
from sqlalchemy.exc import IntegrityError

from network.db import transaction
from network.errors import Conflict
from network.extensions import db
from network.idempotency import services as idempotency


class _KeyTaken(Exception):
    """A concurrent request with the same key claimed it first."""


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
    find = {"org_id": org_id, "key": key, "scope": scope, "digest": idempotency.request_hash(body)}
    try:
        with transaction(db.session):
            stored = idempotency.find_answer(db.session, **find)
            if stored is None:
                try:
                    record = idempotency.claim(db.session, **find, now=now)
                except IntegrityError:
                    raise _KeyTaken from None
                status, answer = handle()
                idempotency.store_answer(db.session, record, status=status, body=answer)
    except _KeyTaken:
        # The claim waited on the unique index until the first request committed its answer.
        stored = idempotency.find_answer(db.session, **find)
        db.session.rollback()
        if stored is None:
            raise Conflict("a request with this Idempotency-Key was in progress; retry it") from None
    if stored is not None:
        response = _json(stored.status, stored.body)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    return _json(status, answer)


def _json(status: int, body: dict) -> Response:
    mimetype = "application/problem+json" if status >= 400 else "application/json"
    return Response(json.dumps(body), status=status, mimetype=mimetype)
