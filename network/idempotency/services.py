"""Claim an idempotency key before doing the work, store the answer with the work, replay it after.

The claim is an `INSERT … ON CONFLICT DO NOTHING RETURNING id` under a unique (org_id, key)
index, made first in the transaction: a new key costs that one statement; a concurrent repeat
blocks on the index until the first request commits, then inserts nothing and reads the stored
answer instead. Nothing is created twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from network import direct
from network.db import is_postgres
from network.errors import Conflict, InvalidInput
from network.idempotency.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: dict


def request_hash(body: object) -> str:
    """Hash a request body canonically (key order and spacing do not matter)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: str | None) -> str:
    """Raises InvalidInput for a missing, empty or over-long key."""
    if key is None or not key.strip():
        raise InvalidInput(
            "send an Idempotency-Key header", errors={"Idempotency-Key": ["required for this request"]}
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(errors={"Idempotency-Key": [f"at most {MAX_KEY_LENGTH} characters"]})
    return key


def find_answer(session: Session, *, org_id: int, key: str, scope: str, digest: str) -> StoredAnswer | None:
    """Return the stored answer for a key, or None if the key is new.

    Raises Conflict when the key was used with another request.
    """
    record = session.scalar(
        sa.select(IdempotencyRecord).where(IdempotencyRecord.org_id == org_id, IdempotencyRecord.key == key)
    )
    if record is None:
        return None
    if record.scope != scope or record.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was already used with a different request; use a new key",
            slug="idempotency-key-reused",
        )
    if record.status_code is None:  # pragma: no cover - only visible to a reader without the lock
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly")
    return StoredAnswer(record.status_code, record.response or {})


_RECORDS = IdempotencyRecord.__table__


def claim(
    session: Session, *, org_id: int, key: str, scope: str, digest: str, now: dt.datetime
) -> int | StoredAnswer:
    """Claim a new key: return its record id, to be completed with `store_answer` in the same transaction.

    A key already used answers its stored answer instead (one statement either way for a new key).
    Raises Conflict when the key was used with another request.
    """
    values = {"org_id": org_id, "key": key, "scope": scope, "request_hash": digest, "created_at": now}
    if is_postgres(session):
        rows = direct.run(session, _pg_statements()[0], values)
        record_id = rows[0][0] if rows else None
    else:
        record_id = session.execute(
            sqlite.insert(_RECORDS)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[_RECORDS.c.org_id, _RECORDS.c.key])
            .returning(_RECORDS.c.id)
        ).scalar()
    if record_id is not None:
        return record_id
    # The key's first request committed (this insert waited for it on the unique index).
    stored = find_answer(session, org_id=org_id, key=key, scope=scope, digest=digest)
    if stored is None:  # pragma: no cover - the conflicting row is visible once its writer committed
        raise Conflict("a request with this Idempotency-Key was in progress; retry it")
    return stored


def store_answer(session: Session, record_id: int, *, status: int, body: dict) -> None:
    if is_postgres(session):
        # The text the JSON column's bind would have sent (the engine's default serializer).
        params = {"id": record_id, "status_code": status, "response": json.dumps(body)}
        direct.run(session, _pg_statements()[1], params)
        return
    session.execute(
        _RECORDS.update().where(_RECORDS.c.id == record_id).values(status_code=status, response=body)
    )


@functools.cache
def _pg_statements() -> tuple[direct.Direct, direct.Direct]:
    """PostgreSQL's claim and answer, sent through the driver (`network.direct`): built once."""
    columns = ("org_id", "key", "scope", "request_hash", "created_at")
    claim = (
        postgresql.insert(_RECORDS)
        .values({name: sa.bindparam(name, type_=_RECORDS.c[name].type) for name in columns})
        .on_conflict_do_nothing(index_elements=[_RECORDS.c.org_id, _RECORDS.c.key])
        .returning(_RECORDS.c.id)
    )
    answer = (
        _RECORDS.update()
        .where(_RECORDS.c.id == sa.bindparam("id", type_=_RECORDS.c.id.type))
        .values(
            status_code=sa.bindparam("status_code", type_=sa.Integer),
            response=sa.bindparam("response", type_=sa.JSON),
        )
    )
    return direct.Direct(claim), direct.Direct(answer)
