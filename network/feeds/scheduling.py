"""The pull schedule: claim due feeds, then record what fetching each one gave.

A worker claims feeds in one short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and
moves their `next_run_at` ahead as a lease, so no other worker takes them; it fetches each
feed with no transaction open, then records the result with `record_pull` in a transaction of
its own. A worker that dies mid-fetch leaves the lease to expire, and the feed is due again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.errors import Conflict
from network.feeds import configs
from network.feeds import models as m
from network.feeds.pull import FAILED, NOT_MODIFIED, PullResult, PullSource
from network.feeds.services import FeedReceipt, receive_feed
from network.outbox.events import FeedFailed
from network.outbox.services import record

RETRY_BASE = dt.timedelta(minutes=1)
MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Claim:
    """A feed a worker holds the lease on, with what it needs to fetch it outside a transaction."""

    feed_id: int
    vendor_id: int
    url: str
    auth_kind: str
    auth_sealed: str | None
    etag: str | None
    last_modified: str | None
    claimed_at: dt.datetime
    host_key: str | None = None


def claim_due_feeds(session: Session, *, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Claim]:
    """Take the lease on up to `limit` active pull feeds that are due, most overdue first."""
    query = (
        sa.select(m.Feed)
        .where(m.Feed.transport == m.PULL, m.Feed.active.is_(True), m.Feed.next_run_at <= now)
        .order_by(m.Feed.next_run_at, m.Feed.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    feeds = list(session.scalars(query))
    for feed in feeds:
        feed.next_run_at = now + lease
    session.flush()
    return [_claim(feed, now) for feed in feeds]


def claim_feed(
    session: Session, feed_id: int, *, vendor_id: int, now: dt.datetime, lease: dt.timedelta
) -> Claim:
    """Take the lease on one pull feed to fetch it now. Raises NotFound, Conflict for other transports."""
    feed = configs.get_feed(session, feed_id, vendor_id=vendor_id)
    if feed.transport != m.PULL:
        raise Conflict(f"feed {feed_id} is a {feed.transport} feed; only pull feeds are fetched by the hub")
    feed.next_run_at = now + lease
    session.flush()
    return _claim(feed, now)


def _claim(feed: m.Feed, now: dt.datetime) -> Claim:
    return Claim(
        feed_id=feed.id,
        vendor_id=feed.vendor_id,
        url=feed.url or "",
        auth_kind=feed.auth_kind,
        auth_sealed=feed.auth_sealed,
        etag=feed.etag,
        last_modified=feed.last_modified,
        claimed_at=now,
        host_key=feed.host_key,
    )


def source_of(claim: Claim, auth: dict[str, str]) -> PullSource:
    """Return what to fetch for a claim, with its opened auth and the validators of the last pull."""
    return PullSource(
        url=claim.url,
        auth_kind=claim.auth_kind,
        auth=auth,
        etag=claim.etag,
        last_modified=claim.last_modified,
        host_key=claim.host_key,
    )


def retry_delay(failures: int, interval: dt.timedelta) -> dt.timedelta:
    """Return how long to wait after the n-th failure in a row: doubling from a minute, capped at the interval."""
    return min(interval, RETRY_BASE * 2 ** min(max(failures, 1) - 1, 20))


def record_pull(
    session: Session,
    claim: Claim,
    result: PullResult,
    *,
    now: dt.datetime,
    hold_share: float | None,
    minute: dt.timedelta = MINUTE,
) -> m.FeedRun | None:
    """Record what fetching a claimed feed gave and schedule its next pull.

    A body goes through the feed pipeline; a 304 is a `not_modified` run; a failure is a
    `failed` run with its reason, retried with backoff. Returns None when the feed was deleted
    while it was being fetched.
    """
    query = sa.select(m.Feed).where(m.Feed.id == claim.feed_id)
    if is_postgres(session):
        query = query.with_for_update()
    feed = session.scalar(query)
    if feed is None:
        return None
    interval = feed.interval_minutes * minute
    same_source = feed.url == claim.url and feed.auth_sealed == claim.auth_sealed
    feed.last_run_at = now
    if result.host_key and not feed.host_key and same_source:
        feed.host_key = result.host_key  # an sftp:// feed's first server key, pinned
    if result.outcome == FAILED:
        return _record_failure(session, feed, result, interval=interval, now=now)
    if result.outcome == NOT_MODIFIED:
        since = result.last_modified or (f"ETag {result.etag}" if result.etag else "the last pull")
        run = _bare_run(feed, m.NOT_MODIFIED, f"HTTP 304: not modified since {since}", result, now=now)
        session.add(run)
    else:
        receipt = FeedReceipt(
            vendor_id=feed.vendor_id,
            transport=m.PULL,
            mode=feed.mode,
            basis=feed.basis,
            data=result.data,
            content_type=result.content_type or "application/octet-stream",
            fmt=configs.feed_format(feed),
            feed_id=feed.id,
        )
        run = receive_feed(session, receipt, now=now, hold_share=hold_share)
        # The run began when the fetch did; its duration covers fetching and applying.
        run.received_at = now - dt.timedelta(milliseconds=result.elapsed_ms)
        run.duration_ms = (run.duration_ms or 0) + result.elapsed_ms
        if run.status in m.GOOD_STATUSES:
            feed.last_success_at = now
            feed.late_notified = False
    feed.consecutive_failures = 0
    feed.last_error = None
    if same_source:
        feed.etag, feed.last_modified = result.etag, result.last_modified
        feed.next_run_at = max(claim.claimed_at + interval, now)
    else:
        # The vendor changed the URL or auth during the fetch: fetch the new source at once.
        feed.next_run_at = now
    session.flush()
    return run


def _record_failure(
    session: Session, feed: m.Feed, result: PullResult, *, interval: dt.timedelta, now: dt.datetime
) -> m.FeedRun:
    feed.consecutive_failures += 1
    feed.last_error = result.reason
    feed.next_run_at = now + retry_delay(feed.consecutive_failures, interval)
    run = _bare_run(feed, m.FAILED, result.reason or "the pull failed", result, now=now)
    session.add(run)
    session.flush()
    if feed.consecutive_failures == 1:  # once per failure streak; the runs tell the rest
        event = FeedFailed(
            feed_id=feed.id,
            feed_run_id=run.id,
            reason=run.message or "",
            next_attempt_at=feed.next_run_at.isoformat(),
        )
        record(session, org_id=feed.vendor_id, event=event, key=f"feed:{feed.id}", now=now)
    return run


def _bare_run(feed: m.Feed, status: str, message: str, result: PullResult, *, now: dt.datetime) -> m.FeedRun:
    """A run without a body: a failed fetch or a 304."""
    return m.FeedRun(
        vendor_id=feed.vendor_id,
        feed_id=feed.id,
        transport=m.PULL,
        format=feed.format_kind,
        mode=feed.mode,
        basis=feed.basis,
        status=status,
        message=message,
        rows_seen=0,
        rows_applied=0,
        rows_rejected=0,
        rows_changed=0,
        errors=[],
        received_at=now - dt.timedelta(milliseconds=result.elapsed_ms),
        finished_at=now,
        duration_ms=result.elapsed_ms,
    )
