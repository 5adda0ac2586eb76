"""Configuration: defaults, then the environment, then what the caller passes (tests)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULTS: dict[str, object] = {
    "SECRET_KEY": None,
    "PUBLIC_URL": "http://127.0.0.1:5000",
    "SMTP_URL": None,
    "HUB_RUN_WORKER": False,
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    # Connections are replaced after 30 minutes rather than pinged on every checkout (a round
    # trip per request): a connection the server dropped fails one request with 503 and
    # Retry-After (network/app.py), and the pool reconnects for the client's retry.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800},
    "SQLALCHEMY_SESSION_OPTIONS": {},
    # A PostgreSQL streaming replica for availability reads and the change feeds (network/replica.py):
    # used while its replay lag is under HUB_REPLICA_MAX_LAG_MS, the primary otherwise. The lag is
    # measured at most once per HUB_REPLICA_CHECK_MS in each process.
    "DATABASE_REPLICA_URL": None,
    "HUB_REPLICA_MAX_LAG_MS": 500,
    "HUB_REPLICA_CHECK_MS": 100,
    "HUB_TOKEN_LIFETIME_SECONDS": 3600,
    # How long a process reuses a bearer token's check (network/partners/token_cache.py): a
    # revoked client's tokens are refused by every process within this many seconds (0: no cache).
    "HUB_TOKEN_CACHE_SECONDS": 5,
    "HUB_FEED_RAW_RETENTION_DAYS": 30,
    # History on PostgreSQL is partitioned by month and a month goes whole once all of it is older
    # than its table's retention (0: kept for ever), unless something in it is still needed
    # (network/history/retention.py): undelivered events, pending deliveries, held or queued runs.
    # The ledger explains every figure (DESIGN §4): over a year by default.
    "HUB_LEDGER_RETENTION_DAYS": 400,
    # Events behind the event log and the change feeds: a reader's cursor older than this resumes
    # at the oldest event kept.
    "HUB_EVENT_RETENTION_DAYS": 90,
    # Finished webhook deliveries (SQLite deletes them row by row, PostgreSQL by month).
    "HUB_WEBHOOK_RETENTION_DAYS": 30,
    "HUB_FEED_RUN_RETENTION_DAYS": 180,
    # Month partitions made ahead of the current one (rows of a month without one wait in the
    # default partition until the job makes it).
    "HUB_PARTITION_MONTHS_AHEAD": 2,
    # Portal sign-in attempts are kept this long for audit, then deleted (the throttle reads 15 min).
    "HUB_LOGIN_ATTEMPT_RETENTION_DAYS": 30,
    # Feeds: the share of in-stock SKUs a full feed may zero before it is held for the vendor.
    "HUB_FEED_HOLD_SHARE": 0.5,
    # Pulling feed URLs: timeouts (s), body cap, redirects, and which hosts may be fetched
    # (comma-separated; empty: any public host; non-public addresses need HUB_FEED_ALLOW_PRIVATE).
    "HUB_FEED_CONNECT_TIMEOUT": 5,
    "HUB_FEED_READ_TIMEOUT": 30,
    "HUB_FEED_TOTAL_TIMEOUT": 120,
    "HUB_FEED_MAX_BYTES": 50 * 1024 * 1024,
    "HUB_FEED_MAX_REDIRECTS": 5,
    "HUB_FEED_ALLOWED_HOSTS": "",
    "HUB_FEED_ALLOW_PRIVATE": False,
    "HUB_FEED_PULL_BATCH": 20,
    # A pull's lease on its feed lasts the fetch's timeouts plus this long to record the file: a
    # worker that dies holding feeds frees them when it ends (no other worker pulls them sooner).
    "HUB_FEED_RECORD_SECONDS": 60,
    # How long a minute of a feed's interval lasts (s). Only soak tests shorten it, so that a run
    # of a minute sees each feed due several times.
    "HUB_FEED_MINUTE_SECONDS": 60,
    # Pushes and uploads larger than this (bytes) are kept and answered 202 at once, then applied
    # by the worker (network.feeds.queue), so one vendor's big file never holds a web worker.
    "HUB_ASYNC_PUSH_BYTES": 1024 * 1024,
    # Storefront connectors: hosts a store may be reached at over plain http (a local store in
    # development; comma-separated); everywhere else https to a public address.
    "HUB_CONNECTOR_ALLOW_HTTP_HOSTS": "",
    "HUB_DEMO_SEED": True,
    # The console's public sign-up page (/console/signup): anyone with an email opens a retailer.
    # Off by default (the page answers 404): operators open retailers with `hub create-retailer`.
    "HUB_OPEN_SIGNUP": False,
    # Reverse proxies in front of the hub that append to X-Forwarded-For (0: none, the header is
    # ignored, since any client could write it). The portal's sign-in throttle locks addresses.
    "HUB_PROXY_HOPS": 0,
    # A bearer token /metrics then requires (empty: open, for a scraper on a private network).
    "HUB_METRICS_TOKEN": "",
    # flask-smorest: one document for both APIs, served where API.md promises it.
    "API_TITLE": "Dropnet hub",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}

ENVIRONMENT = ("DATABASE_URL", "DATABASE_REPLICA_URL", "SECRET_KEY", "PUBLIC_URL", "SMTP_URL")
# HUB_ settings kept as the text given: a secret of digits or "yes" is not a number or a flag.
TEXT_SETTINGS = frozenset({"HUB_METRICS_TOKEN", "HUB_CONNECTOR_ALLOW_HTTP_HOSTS"})


def normalize_database_url(url: str) -> str:
    """Accept the URLs operators paste (postgres://, postgresql://) and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(instance_path: str, overrides: Mapping[str, object] | None) -> dict[str, object]:
    config = dict(DEFAULTS)
    for name in ENVIRONMENT:
        if os.environ.get(name):
            config[name] = os.environ[name]
    for name, value in os.environ.items():
        if name.startswith("HUB_"):
            config[name] = value if name in TEXT_SETTINGS else _coerce(value)
    config.update(overrides or {})
    url = str(config.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'dropnet.sqlite3'}")
    config["DATABASE_URL"] = normalize_database_url(url)
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if config.get("DATABASE_REPLICA_URL"):
        config["DATABASE_REPLICA_URL"] = normalize_database_url(str(config["DATABASE_REPLICA_URL"]))
    return config


def _coerce(value: str) -> object:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    try:
        return int(value)
    except ValueError:
        return value
