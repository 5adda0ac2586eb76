"""Pulling feeds, as use cases: pull the due feeds, pull one feed now, fetch a sample for a preview.

A vendor's URL is never fetched inside a transaction: the feed is claimed (or read) and committed,
the file is fetched, then the result is recorded in a transaction of its own. The hub's settings
come in as the app's config mapping, so the scheduler (`network/jobs.py`) and both web packages
call the same code without this package reading Flask.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from sqlalchemy.orm import Session

from network.clock import utcnow
from network.db import transaction
from network.errors import Conflict, InvalidInput
from network.feeds import configs, scheduling
from network.feeds.address_guard import http_session
from network.feeds.credentials import Credentials, CredentialsUnreadable
from network.feeds.models import PULL, FeedRun
from network.feeds.pull import FAILED, OK, PullResult, PullSettings, pull

log = logging.getLogger(__name__)


def hold_share(config: Mapping[str, Any]) -> float:
    """The share of a vendor's positions a run may move before it is held for review."""
    return float(config["HUB_FEED_HOLD_SHARE"])


def pull_settings(config: Mapping[str, Any]) -> PullSettings:
    return PullSettings.from_config(config)


def feed_credentials(config: Mapping[str, Any]) -> Credentials:
    return Credentials(config["SECRET_KEY"])


def pull_lease(config: Mapping[str, Any], settings: PullSettings) -> dt.timedelta:
    """How long a claimed feed stays with its worker: longer than the slowest fetch and record may take."""
    record = float(config["HUB_FEED_RECORD_SECONDS"])
    return dt.timedelta(seconds=settings.connect_timeout + settings.total_timeout + record)


def feed_minute(config: Mapping[str, Any]) -> dt.timedelta:
    """The length of a minute of a feed's interval (HUB_FEED_MINUTE_SECONDS; a minute but in soak tests)."""
    return dt.timedelta(seconds=float(config["HUB_FEED_MINUTE_SECONDS"]))


def pull_due(
    session: Session,
    config: Mapping[str, Any],
    *,
    budget_seconds: float,
    now: dt.datetime | None = None,
) -> list[FeedRun]:
    """Claim due feeds a batch at a time, fetch each with no transaction open, record each in its own.

    Returns after `budget_seconds` even if feeds are still due. `now` pins the clock (tests); by
    default each step reads it.
    """
    settings = pull_settings(config)
    batch = int(config["HUB_FEED_PULL_BATCH"])
    started = time.monotonic()
    runs: list[FeedRun] = []
    with http_session(settings) as http:
        while time.monotonic() - started < budget_seconds:
            with transaction(session):
                claims = scheduling.claim_due_feeds(
                    session, now=now or utcnow(), limit=batch, lease=pull_lease(config, settings)
                )
            runs += pull_claimed(session, config, claims, http=http, settings=settings, now=now)
            if len(claims) < batch:
                break
    return runs


def pull_claimed(
    session: Session,
    config: Mapping[str, Any],
    claims: Sequence[scheduling.Claim],
    *,
    http: requests.Session,
    settings: PullSettings,
    now: dt.datetime | None = None,
) -> list[FeedRun]:
    """Fetch claimed feeds one by one and record each result; one feed's trouble never stops the rest."""
    runs = []
    for claim in claims:
        try:
            run = pull_one(session, config, claim, http=http, settings=settings, now=now)
        except Exception:  # the lease expires and the feed is pulled again; the others go on
            log.exception("recording the pull of feed %d failed", claim.feed_id)
            continue
        if run is not None:
            runs.append(run)
    return runs


def pull_one(
    session: Session,
    config: Mapping[str, Any],
    claim: scheduling.Claim,
    *,
    http: requests.Session,
    settings: PullSettings,
    now: dt.datetime | None = None,
) -> FeedRun | None:
    """Fetch one claimed feed with no transaction open, then record the result in one of its own.

    Returns None when the feed was deleted meanwhile.
    """
    try:
        auth = feed_credentials(config).open(claim.auth_sealed) if claim.auth_sealed else {}
    except CredentialsUnreadable as exc:
        result = PullResult(FAILED, reason=str(exc))
    else:
        result = pull(http, scheduling.source_of(claim, auth), settings)
    with transaction(session):
        run = scheduling.record_pull(
            session,
            claim,
            result,
            now=now or utcnow(),
            hold_share=hold_share(config),
            minute=feed_minute(config),
        )
    if run is not None:
        log.info("feed %d pulled: run %d %s", claim.feed_id, run.id, run.status)
    return run


def pull_now(session: Session, config: Mapping[str, Any], feed_id: int, *, vendor_id: int) -> FeedRun | None:
    """A vendor's "pull now": claim the feed, fetch it, record the run. None when it was deleted meanwhile.

    Raises NotFound, and Conflict when it is not a pull feed.
    """
    settings = pull_settings(config)
    with transaction(session):
        claim = scheduling.claim_feed(
            session, feed_id, vendor_id=vendor_id, now=utcnow(), lease=pull_lease(config, settings)
        )
    with http_session(settings) as http:
        return pull_one(session, config, claim, http=http, settings=settings)


def fetch_sample(session: Session, config: Mapping[str, Any], feed_id: int, *, vendor_id: int) -> bytes:
    """Fetch a pull feed's file as it is now, unconditionally and with no transaction open (previews).

    Raises NotFound; Conflict when its stored credentials cannot be read; InvalidInput when it is
    not a pull feed or the fetch failed (the reason under `url`).
    """
    with transaction(session):
        feed = configs.get_feed(session, feed_id, vendor_id=vendor_id)
        if feed.transport != PULL:
            raise InvalidInput(
                f"feed {feed_id} is a {feed.transport} feed: there is no URL to fetch a sample from; send one",
                errors={"_body": ["a sample file is required for this feed"]},
            )
        try:
            source = configs.pull_source(feed, feed_credentials(config))
        except CredentialsUnreadable as exc:
            raise Conflict(str(exc)) from None
    settings = pull_settings(config)
    with http_session(settings) as http:
        result = pull(http, source, settings)
    if result.outcome != OK:
        reason = result.reason or "the fetch failed"
        raise InvalidInput(f"the feed URL could not be fetched: {reason}", errors={"url": [reason]})
    return result.data
