"""Which database answers a read that a PostgreSQL streaming replica may serve.

`ReadRouter.read` is the one place that picks the engine. Availability reads and the cursor feeds
(availability changes, event logs, stock ledgers) go to the replica when all of these hold, and
to the primary otherwise:

- the replica answers and is a standby (`pg_is_in_recovery()`);
- its replay lag is under `max_lag_ms`: zero when it has replayed everything the primary had
  written when we asked (`pg_last_wal_replay_lsn()` >= the primary's `pg_current_wal_lsn()`),
  else the age of the last transaction it replayed (`pg_last_xact_replay_timestamp()`): nothing
  the replica shows is older than that. Measured at most once per `check_ms` in a process (two
  short queries), so a decision is at most that much older than the read;
- read-your-writes, across every web process: the organization made no write the replica has not
  replayed yet. After a request that may have written (any method but GET/HEAD/OPTIONS), the
  process that served it records the primary's WAL position at that moment as the
  organization's mark in `replica_read_marks` on the primary (network/read_marks.py; an upsert
  that keeps the greater position, so a slower process never lowers it), before the client has
  the answer. A read that may go to the replica first reads the organization's mark from the
  primary (one primary-key lookup, one round trip) and goes to the replica only if the replay
  position last measured has passed it. That position is at most `check_ms` old and the replica
  only moves forward, so a read it lets through sees the write; a mark newer than it keeps the
  read on the primary (`own_write`) until the next measurement shows the replica past it. A
  lookup that fails keeps the read on the primary too (`mark_unknown`). The process also keeps
  the marks of the writes it served in memory: a mark there that the replica has not passed
  sends the read to the primary without the lookup (the table holds that mark or a later one).
  The marks are lost when the primary crashes (the table is UNLOGGED); reads are then held to
  the lag bound only, as they are for the writes of `hub worker` (pulled feeds, queued pushes).
  Nothing prunes the table: a mark the replica has passed is harmless, and there is one row per
  organization that ever wrote with a replica configured.

A replica that is down, or fails during a read, never fails the read: the read runs again on the
primary and the replica is left alone for `retry_down_s` before it is asked again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.orm import Session, sessionmaker

from network.db import is_connection_lost

log = logging.getLogger(__name__)
T = TypeVar("T")

READS = Counter(
    "dropnet_routed_reads_total",
    "Reads a replica may serve, by the database that answered (replica, primary) and why not the replica",
    ["target", "reason"],
)
LAG = Gauge(
    "dropnet_replica_lag_seconds",
    "The read replica's replay lag when last measured (-1: unreachable or not a standby)",
    multiprocess_mode="livemax",
)


def parse_lsn(text: str) -> int:
    """A WAL position as PostgreSQL writes it ('16/B374D848') as one comparable number."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass(frozen=True)
class ReplicaState:
    reason: str  # why reads may not use the replica now; "" when they may
    replay_lsn: int = 0
    lag_ms: float | None = None


UNCHECKED = ReplicaState("unchecked")

# The organization's mark (network/read_marks.py), the WAL position as parse_lsn's number.
_MARK = sa.text("SELECT lsn FROM replica_read_marks WHERE org_id = :org")
_NOTE = sa.text(
    "INSERT INTO replica_read_marks AS m (org_id, lsn) VALUES (:org, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint)"
    " ON CONFLICT (org_id) DO UPDATE SET lsn = greatest(m.lsn, excluded.lsn) RETURNING lsn"
)


class ReadRouter:
    def __init__(
        self,
        primary: sa.Engine,
        replica: sa.Engine,
        *,
        max_lag_ms: float,
        check_ms: float,
        retry_down_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary, self.replica = primary, replica
        self.max_lag_ms = max_lag_ms
        self._check_s, self._retry_down_s, self._clock = check_ms / 1000, retry_down_s, clock
        self._sessions = sessionmaker(replica, expire_on_commit=False)
        # The marks' one-statement round trips need no BEGIN/COMMIT of their own.
        self._marks_engine = primary.execution_options(isolation_level="AUTOCOMMIT")
        self._lock = threading.Lock()  # guards _marks and the state below
        self._measuring = threading.Lock()  # one thread of a process measures at a time
        self._state, self._valid_until = UNCHECKED, 0.0
        # organization -> WAL position after its last write served here, until the replica passes it
        self._marks: dict[int, int] = {}

    def read(self, org_id: int, run: Callable[[Session], T], primary: Session) -> T:
        """`run(session)` on the replica when it may serve this organization, else on `primary`.

        `run` must only read, and return values that need no session afterwards (the replica's
        session is closed when it returns).
        """
        reason = self.why_not_replica(org_id)
        if reason:
            READS.labels("primary", reason).inc()
            return run(primary)
        try:
            with self._sessions() as session:
                result = run(session)
                # COMMIT, not the ROLLBACK of close(): psycopg keeps its prepared statements.
                session.commit()
        except sa.exc.DBAPIError as error:
            log.warning("read replica failed a read, answering from the primary: %s", error.orig)
            if is_connection_lost(error):
                self._suspend()
            READS.labels("primary", "replica_error").inc()
            return run(primary)
        READS.labels("replica", "").inc()
        return result

    def why_not_replica(self, org_id: int) -> str:
        state = self.state()
        if state.reason:
            return state.reason
        with self._lock:
            mine = self._marks.get(org_id)
        if mine is not None and state.replay_lsn < mine:
            return "own_write"  # a write this process served: no need to ask the primary
        try:
            with self._marks_engine.connect() as conn:
                mark = conn.execute(_MARK, {"org": org_id}).scalar()
        except sa.exc.DBAPIError as error:
            log.warning("could not read the organization's read-your-writes mark: %s", error.orig)
            return "mark_unknown"
        return "own_write" if mark is not None and state.replay_lsn < mark else ""

    def note_write(self, org_id: int) -> None:
        """Record, for every process, that the organization's reads must not come from before now."""
        try:
            with self._marks_engine.connect() as conn:
                lsn = conn.execute(_NOTE, {"org": org_id}).scalar_one()
        except sa.exc.DBAPIError as error:
            # The primary is gone: whatever the request wrote is in doubt too, and the reads that
            # follow go to the primary's 503 or to a replica that is at most max_lag_ms behind.
            log.warning("could not record the primary's WAL position after a write: %s", error.orig)
            return
        with self._lock:
            self._marks[org_id] = max(lsn, self._marks.get(org_id, 0))

    def state(self) -> ReplicaState:
        """The replica's last measured state, measured again when older than `check_ms`."""
        now = self._clock()
        if now < self._valid_until:
            return self._state
        if not self._measuring.acquire(blocking=False):
            # Another thread is measuring (perhaps waiting on an unreachable replica): keep the
            # last figure while it is only a little old, else read from the primary meanwhile.
            return self._state if now < self._valid_until + self._check_s else ReplicaState("measuring")
        try:
            state = self._measure()
            hold = self._retry_down_s if state.reason in ("down", "not_standby") else self._check_s
            with self._lock:
                self._state, self._valid_until = state, self._clock() + hold
                # Marks the replica has passed are kept in memory no longer: it stays at or past
                # them (the table keeps its row: another process may have written since).
                self._marks = {org: lsn for org, lsn in self._marks.items() if lsn > state.replay_lsn}
            LAG.set(-1 if state.lag_ms is None else state.lag_ms / 1000)
            return state
        finally:
            self._measuring.release()

    def _suspend(self) -> None:
        with self._lock:
            self._state, self._valid_until = ReplicaState("down"), self._clock() + self._retry_down_s

    def _measure(self) -> ReplicaState:
        # The primary's position first: a replica that has replayed up to it was caught up when
        # it answered, whatever the primary wrote in between.
        try:
            with self.primary.connect() as conn:
                primary_lsn = parse_lsn(
                    conn.exec_driver_sql("SELECT pg_current_wal_lsn()::text").scalar_one()
                )
                conn.commit()
        except sa.exc.DBAPIError:
            return ReplicaState("primary_unreachable")
        try:
            with self.replica.connect() as conn:
                in_recovery, replay, age_ms = conn.exec_driver_sql(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
                    " extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000"
                ).one()
                conn.commit()
        except sa.exc.DBAPIError as error:
            log.warning("read replica unreachable, reads go to the primary: %s", error.orig)
            return ReplicaState("down")
        if not in_recovery:
            # A promoted or misconfigured "replica" no longer follows the primary's writes.
            log.warning("DATABASE_REPLICA_URL is not a standby (pg_is_in_recovery() is false): not used")
            return ReplicaState("not_standby")
        replay_lsn = parse_lsn(replay) if replay else 0
        lag_ms = 0.0 if replay_lsn >= primary_lsn else (None if age_ms is None else float(age_ms))
        if lag_ms is None or lag_ms >= self.max_lag_ms:
            return ReplicaState("lag", replay_lsn, lag_ms)
        return ReplicaState("", replay_lsn, lag_ms)


def replica_engine(url: str, engine_options: dict) -> sa.Engine:
    """The replica's engine, pooled like the primary's; an unreachable replica is given up on
    after 2 s (libpq's shortest connect_timeout) rather than the OS's minutes."""
    options = dict(engine_options)
    options["connect_args"] = {"connect_timeout": 2, **options.get("connect_args", {})}
    return sa.create_engine(url, **options)
