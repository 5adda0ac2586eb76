"""Wake the webhook dispatcher when events commit, instead of letting it find them by polling.

PostgreSQL: the writing transaction issues `pg_notify('dropnet_outbox', '')`, which the server
delivers to every listener at commit (and drops on rollback), across processes.
Every backend: after a session commits a transaction that wrote events, an in-process
`threading.Event` is set, which is what wakes a dispatcher running in the same process (SQLite).
Polling stays as the safety net for everything else (a lost connection, another process on SQLite).
"""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.orm import Session

CHANNEL = "dropnet_outbox"
_WROTE = "dropnet_outbox_wrote"

_waiters: set[threading.Event] = set()
_lock = threading.Lock()


def subscribe() -> threading.Event:
    """Return an event that is set whenever outbox work commits in this process."""
    waiter = threading.Event()
    with _lock:
        _waiters.add(waiter)
    return waiter


def unsubscribe(waiter: threading.Event) -> None:
    with _lock:
        _waiters.discard(waiter)


def ring() -> None:
    """Wake every dispatcher of this process."""
    with _lock:
        waiters = list(_waiters)
    for waiter in waiters:
        waiter.set()


def announce(session: Session) -> None:
    """Say, within the current transaction, that the outbox has new work once it commits."""
    if session.info.get(_WROTE):
        return
    wrote_outbox_work(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))


def wrote_outbox_work(session: Session) -> None:
    """Ring this process's dispatchers once the transaction commits, without a NOTIFY: for a
    caller that sends its own (the outbox's numbering statement does, network/outbox/services.py)."""
    session.info[_WROTE] = True


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        ring()


@sa.event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous_transaction: object) -> None:
    # A rolled-back savepoint may have taken the NOTIFY with it: announce again if more is written.
    session.info.pop(_WROTE, None)
