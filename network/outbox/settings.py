"""Webhook settings, read from the application's configuration (`HUB_WEBHOOK_*`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class WebhookSettings:
    # Plain http is accepted only to these hosts (e.g. "127.0.0.1" in tests); https everywhere.
    allow_http_hosts: frozenset[str] = frozenset()
    # Endpoints on private, loopback or link-local addresses are refused unless this is set.
    allow_private: bool = False
    rotation_grace: dt.timedelta = dt.timedelta(hours=24)
    # Total budget of one attempt (connect + answer); API.md promises retries after 10 s.
    timeout_seconds: float = 10.0
    retry_for: dt.timedelta = dt.timedelta(hours=24)
    # A dispatcher holds an endpoint this long per delivery; a killed one's lease then expires.
    lease: dt.timedelta = dt.timedelta(seconds=60)
    # Sending threads. They hold no database connection (network/delivery/recorder.py writes
    # their outcomes), so there can be many: one change fanned out to 100 endpoints goes out in
    # four rounds rather than thirteen.
    workers: int = 32
    # The safety net under the commit-time wake-up: look for work at least this often.
    poll_seconds: float = 2.0

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> WebhookSettings:
        hosts = config.get("HUB_WEBHOOK_ALLOW_HTTP_HOSTS") or ""
        if isinstance(hosts, str):
            hosts = [h.strip() for h in hosts.split(",")]
        timeout = float(config.get("HUB_WEBHOOK_TIMEOUT_SECONDS", 10))
        # A lease shorter than an attempt would let a second dispatcher send while the first waits.
        lease = max(float(config.get("HUB_WEBHOOK_LEASE_SECONDS", 60)), timeout + 1)
        return cls(
            allow_http_hosts=frozenset(str(h).lower() for h in hosts if str(h).strip()),
            allow_private=bool(config.get("HUB_WEBHOOK_ALLOW_PRIVATE", False)),
            rotation_grace=dt.timedelta(hours=float(config.get("HUB_WEBHOOK_ROTATION_GRACE_HOURS", 24))),
            timeout_seconds=timeout,
            retry_for=dt.timedelta(hours=float(config.get("HUB_WEBHOOK_RETRY_HOURS", 24))),
            lease=dt.timedelta(seconds=lease),
            workers=int(config.get("HUB_WEBHOOK_WORKERS", 32)),
            poll_seconds=float(config.get("HUB_WEBHOOK_POLL_SECONDS", 2)),
        )
