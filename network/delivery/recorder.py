"""Delivery outcomes written in batches: one transaction for whatever outcomes arrive together.

A sending thread hands its attempt to the recorder and waits for the commit (it needs the
endpoint's next delivery, which the same transaction leases). Recording each outcome in its own
short transaction held a database connection per sending thread and cost a commit, a WAL flush,
per delivery: serving 100 endpoints, those commits were most of the fan-out's time
(docs/benchmarks.md, "Propagation"). The batch is whatever queued while the previous one was
being written; nothing waits to fill it, so a lone delivery is recorded at once.

Nothing is acknowledged before its batch commits. A batch that fails leaves its deliveries
pending and claimed: they go out again once their leases expire (at-least-once, as before).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from network.db import transaction
from network.delivery.claims import Outgoing
from network.delivery.sending import Attempt

log = logging.getLogger(__name__)

MAX_BATCH = 100


class _Waiting:
    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt
        self.done = threading.Event()
        self.result: Outgoing | None = None
        self.error: BaseException | None = None


_STOP = object()


class Recorder:
    """One thread writing the attempts handed to it, a batch per transaction."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        write: Callable[[Session, Sequence[Attempt]], list[Outgoing | None]],
    ) -> None:
        self._session_factory = session_factory
        self._write = write
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="webhook-recorder", daemon=True)
        self._thread.start()

    def record(self, attempt: Attempt) -> Outgoing | None:
        """Write the attempt; return the endpoint's next delivery, leased (see sending.record_outcomes).

        Raises what writing its batch raised.
        """
        waiting = _Waiting(attempt)
        self._queue.put(waiting)
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        return waiting.result

    def stop(self, timeout: float = 15.0) -> None:
        """Write what is queued, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        session = self._session_factory()
        try:
            stopping = False
            while not stopping:
                batch: list[_Waiting] = []
                item = self._queue.get()
                while True:
                    if item is _STOP:
                        stopping = True
                    else:
                        batch.append(item)
                    if len(batch) >= MAX_BATCH:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch:
                    self._write_batch(session, batch)
        finally:
            session.close()

    def _write_batch(self, session: Session, batch: list[_Waiting]) -> None:
        try:
            with transaction(session):
                results = self._write(session, [waiting.attempt for waiting in batch])
            for waiting, result in zip(batch, results, strict=True):
                waiting.result = result
        except Exception as exc:  # noqa: BLE001 — each waiting thread logs it; the leases cover the rest
            for waiting in batch:
                waiting.error = exc
        finally:
            for waiting in batch:
                waiting.done.set()
