"""The bearer-token check remembered for a few seconds in the process: no round trip per API request.

Every API request checks its token; with the check cached, an availability read is one round
trip to the database instead of two (docs/benchmarks.md, "Availability read").

What is kept: the caller a token stands for (organization, side, scopes, client), keyed by the
token's SHA-256 (the token itself is never held), with the token's expiry. An entry is used only
while all of these hold:
- the hub's clock is before the token's own `expires_at` (an expired token is refused as before);
- it is younger than `seconds` (HUB_TOKEN_CACHE_SECONDS) on the process's monotonic clock;
- no API client was revoked in this process since it was read (`forget_all`, called by
  `revoke_api_client` and again when that transaction commits).

So a revoked client's tokens are refused at once by the process that revoked it, and by every
other process (the other gunicorn workers, other hosts) within `seconds` of the commit: that is
the bound, 5 s by default. What a token stands for never changes while it exists (its scopes and
organization are fixed when it is issued); revoking its client, the one way to withdraw it,
deletes it. Portal and console sign-ins are cookie sessions, checked on every request as before
(network/partners/accounts.py, the session version): nothing of theirs is cached here.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# A bound on memory, far above the tokens one process sees live in a few seconds.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T
    expires_at: dt.datetime  # the token's own expiry, on the hub's clock
    read_at: float  # time.monotonic() when the database said so
    generation: int


class TokenCache(Generic[T]):
    """Token hash → what the database said about it, for at most `seconds` (see the module)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, _Entry[T]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._monotonic = monotonic

    def get(self, token_hash: str, *, now: dt.datetime, seconds: float) -> T | None:
        """The remembered value, or None (never cached, too old, expired, or a revocation since)."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if (
            entry.generation != self._generation
            or entry.expires_at <= now
            or self._monotonic() - entry.read_at >= seconds
        ):
            self._entries.pop(token_hash, None)
            return None
        return entry.value

    def generation(self) -> int:
        """Take before reading the database; pass to `put` (a revocation meanwhile voids the read)."""
        return self._generation

    def put(self, token_hash: str, value: T, *, expires_at: dt.datetime, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # a client was revoked while the database was read: the answer may be stale
            if len(self._entries) >= MAX_ENTRIES:
                self._evict()
            self._entries[token_hash] = _Entry(value, expires_at, self._monotonic(), generation)

    def forget_all(self) -> None:
        """A client was revoked (or its revocation committed): nothing read before counts any more."""
        with self._lock:
            self._generation += 1
            self._entries = {}

    def _evict(self) -> None:
        # The oldest half goes; dicts keep insertion order, so those are the first keys.
        keep = list(self._entries.items())[len(self._entries) // 2 :]
        self._entries = dict(keep)
