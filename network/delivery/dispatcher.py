"""The webhook dispatcher: a loop that fans out and claims, and a small pool that sends.

It wakes when events commit (a PostgreSQL LISTEN on its own connection; an in-process signal
for writers in the same process) and otherwise every `poll_seconds` as a safety net. Each pool
thread serves one endpoint at a time, so a slow or dead receiver holds one thread, never the
others' deliveries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.clock import utcnow
from network.db import transaction
from network.delivery.claims import Outgoing, claim
from network.delivery.recorder import Recorder
from network.delivery.sending import Attempt, record_outcomes, send
from network.outbox import wakeup
from network.outbox.fanout import FanOut, fan_out
from network.outbox.models import Delivery, WebhookEndpoint
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox

log = logging.getLogger(__name__)

# Deliveries one thread sends to one endpoint before it lets other endpoints have the thread.
TURN = 50
SEEN_LIMIT = 100_000


class Dispatcher:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        *,
        settings: WebhookSettings,
        box: SecretBox,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
        engine: sa.Engine | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.box = box
        self.clock = clock
        self.rng = rng or random.Random()
        self.engine = engine
        self._wake = wakeup.subscribe()
        self._stop = threading.Event()
        self._busy: set[int] = set()
        # Event ids fanned out above the fan-out cursor, with their txids (see fanout.py).
        self._seen: dict[int, int] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="webhook")
        self._recorder = Recorder(session_factory, self._record)
        self._threads: list[threading.Thread] = []

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> Dispatcher:
        self._threads.append(threading.Thread(target=self._loop, name="webhook-dispatcher", daemon=True))
        if self.engine is not None and self.engine.dialect.name == "postgresql":
            self._threads.append(threading.Thread(target=self._listen, name="webhook-listen", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop claiming; let the deliveries in flight finish (their leases cover the rest)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._recorder.stop(timeout)
        wakeup.unsubscribe(self._wake)

    def poke(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.tick()
            except Exception:  # the loop must survive a lost connection; it tries again soon
                log.exception("webhook dispatcher tick failed")
                self._stop.wait(1.0)

    def _listen(self) -> None:
        """Turn PostgreSQL notifications on the outbox channel into wake-ups, reconnecting as needed."""
        while not self._stop.is_set():
            connection = None
            try:
                raw = self.engine.raw_connection()
                connection = raw.driver_connection
                raw.detach()  # a dedicated connection: never handed back to the pool
                connection.autocommit = True
                connection.execute(f"LISTEN {wakeup.CHANNEL}")
                self._wake.set()  # catch up on whatever committed while nobody listened
                while not self._stop.is_set():
                    for _ in connection.notifies(timeout=1.0):
                        self._wake.set()
            except Exception:  # noqa: BLE001 — a broken connection: polling covers until we are back
                log.warning("webhook LISTEN connection lost; retrying", exc_info=True)
                self._stop.wait(2.0)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()

    # --- one round ------------------------------------------------------------------------------

    def tick(self) -> int:
        """Fan out new events and hand due deliveries to free threads; return how many were handed."""
        with self._lock:
            free = self.settings.workers - len(self._busy)
            busy = list(self._busy)
        session = self.session_factory()
        try:
            more = True
            while more:
                with transaction(session):
                    result = fan_out(
                        session,
                        now=self.clock(),
                        retry_for=self.settings.retry_for,
                        seen=self._seen,
                        announce_work=False,
                    )
                    more = result.more
                    claimed = claim(
                        session,
                        now=self.clock(),
                        settings=self.settings,
                        box=self.box,
                        limit=0 if more else free,
                        exclude=busy,
                    )
                    if more or result.endpoints - {outgoing.endpoint_id for outgoing in claimed}:
                        # Work this dispatcher does not take now: wake the others (and itself, once
                        # this commits). When it took all of it, a NOTIFY would only wake every
                        # dispatcher for a round that finds nothing, while the deliveries go out.
                        wakeup.announce(session)
                self._remember(result)
        finally:
            session.close()
        for outgoing in claimed:
            with self._lock:
                self._busy.add(outgoing.endpoint_id)
            self._pool.submit(self._serve, outgoing)
        return len(claimed)

    def _remember(self, result: FanOut) -> None:
        """Keep the ids fanned out above the cursor (only after they committed); forget those below it."""
        self._seen.update(dict(result.beyond))
        if result.passed or len(self._seen) > SEEN_LIMIT:
            self._seen = {
                event_id: txid for event_id, txid in self._seen.items() if (txid, event_id) > result.cursor
            }
            if len(self._seen) > SEEN_LIMIT:  # a very long transaction somewhere: rely on the unique rows
                self._seen = {}

    def _serve(self, outgoing: Outgoing | None) -> None:
        endpoint_id = outgoing.endpoint_id
        try:
            for turn in range(TURN):
                if outgoing is None or self._stop.is_set() and turn:
                    break
                outcome = send(outgoing, settings=self.settings, clock_seconds=self.clock().timestamp())
                take_next = turn + 1 < TURN and not self._stop.is_set()
                outgoing = self._recorder.record(Attempt(outgoing, outcome, take_next))
            if outgoing is not None:  # the turn is over: hand the endpoint back for the next round
                session = self.session_factory()
                try:
                    with transaction(session):
                        _release(session, outgoing)
                finally:
                    session.close()
        except Exception:
            log.exception(
                "webhook delivery to endpoint %s failed to record; its lease will expire", endpoint_id
            )
        finally:
            with self._lock:
                self._busy.discard(endpoint_id)
            self._wake.set()

    def _record(self, session: Session, attempts: Sequence[Attempt]) -> list[Outgoing | None]:
        return record_outcomes(
            session, attempts, now=self.clock(), settings=self.settings, box=self.box, rng=self.rng
        )

    # --- for tests and tools ------------------------------------------------------------------

    def idle(self) -> bool:
        with self._lock:
            return not self._busy

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Tick until nothing is due and nothing is in flight (without the background loop).

        Raises TimeoutError.
        """
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                handed = self.tick()
                while not self.idle() and not deadline.is_set():
                    self._wake.wait(0.05)
                    self._wake.clear()
                if handed == 0 and self.idle():
                    return
            raise TimeoutError("the dispatcher still had work after the timeout")
        finally:
            timer.cancel()


def _release(session: Session, outgoing: Outgoing) -> None:
    """Give back a lease taken for a delivery that was prepared but not sent."""
    session.execute(
        sa.update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == outgoing.endpoint_id, WebhookEndpoint.lease_token == outgoing.lease_token
        )
        .values(lease_token=None)
    )
    session.execute(sa.update(Delivery).where(Delivery.id == outgoing.delivery_id).values(claimed_until=None))
