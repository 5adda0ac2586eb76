"""Background work (APScheduler): short interval jobs, each one unit of work in its own transaction."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence

import requests
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app

from network.availability.services import items_turning_stale, publish_changes
from network.clock import utcnow
from network.db import transaction
from network.errors import Conflict, InvalidInput
from network.extensions import db
from network.feeds import configs, health, queue, scheduling
from network.feeds.credentials import Credentials, CredentialsUnreadable
from network.feeds.models import PULL, FeedRun
from network.feeds.pull import FAILED, OK, PullResult, PullSettings, http_session, pull
from network.flag_jobs import EVALUATE_SECONDS, NOTICES_SECONDS, evaluate_flags, send_vendor_notices
from network.partners import accounts
from network.webhook_worker import RETENTION_JOB_SECONDS, prune_old_deliveries, start_dispatcher

log = logging.getLogger(__name__)

STALE_SWEEP_SECONDS = 30
FEED_PULL_SECONDS = 30
FEED_HEALTH_SECONDS = 60
FEED_RETENTION_SECONDS = 3600
# Queued pushes wait at most this long for a worker to look (plus the apply ahead of them).
FEED_QUEUE_SECONDS = 2
# One pull job returns after this long even if feeds are still due, so the next tick (or another
# worker) carries on and a shutdown is never kept waiting for a long backlog.
FEED_PULL_BUDGET_SECONDS = 120


class StaleSweep:
    """Publish the availability of items whose sources went stale since the last sweep."""

    def __init__(self) -> None:
        self.last: dt.datetime | None = None

    def __call__(self) -> None:
        now = utcnow()
        # Overlap the windows: publishing only emits figures that really moved, so a repeat is free.
        since = (self.last or now) - dt.timedelta(seconds=2 * STALE_SWEEP_SECONDS)
        with transaction(db.session):
            moved = publish_changes(
                db.session, items_turning_stale(db.session, since=since, now=now), now=now
            )
        self.last = now
        if moved:
            log.info("stale sweep: %d items changed availability", moved)


def pull_lease(settings: PullSettings) -> dt.timedelta:
    """How long a claimed feed stays with its worker: longer than the slowest fetch may take."""
    return dt.timedelta(seconds=settings.connect_timeout + settings.total_timeout + 60)


def hold_share() -> float:
    return float(current_app.config["HUB_FEED_HOLD_SHARE"])


def pull_settings() -> PullSettings:
    return PullSettings.from_config(current_app.config)


def feed_credentials() -> Credentials:
    return Credentials(current_app.config["SECRET_KEY"])


def pull_due_feeds(*, now: dt.datetime | None = None) -> list[FeedRun]:
    """Claim due feeds a batch at a time, fetch each with no transaction open, record each in its own.

    `now` pins the clock (tests); by default each step reads it.
    """
    settings = pull_settings()
    batch = int(current_app.config["HUB_FEED_PULL_BATCH"])
    started = time.monotonic()
    runs: list[FeedRun] = []
    with http_session(settings) as http:
        while time.monotonic() - started < FEED_PULL_BUDGET_SECONDS:
            with transaction(db.session):
                claims = scheduling.claim_due_feeds(
                    db.session, now=now or utcnow(), limit=batch, lease=pull_lease(settings)
                )
            runs += pull_claimed(claims, http=http, settings=settings, now=now)
            if len(claims) < batch:
                break
    return runs


def pull_claimed(
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
            run = pull_one(claim, http=http, settings=settings, now=now)
        except Exception:  # the lease expires and the feed is pulled again; the others go on
            log.exception("recording the pull of feed %d failed", claim.feed_id)
            continue
        if run is not None:
            runs.append(run)
    return runs


def pull_one(
    claim: scheduling.Claim, *, http: requests.Session, settings: PullSettings, now: dt.datetime | None = None
) -> FeedRun | None:
    """Fetch one claimed feed with no transaction open, then record the result in one of its own.

    Returns None when the feed was deleted meanwhile.
    """
    try:
        auth = feed_credentials().open(claim.auth_sealed) if claim.auth_sealed else {}
    except CredentialsUnreadable as exc:
        result = PullResult(FAILED, reason=str(exc))
    else:
        result = pull(http, scheduling.source_of(claim, auth), settings)
    with transaction(db.session):
        run = scheduling.record_pull(db.session, claim, result, now=now or utcnow(), hold_share=hold_share())
    if run is not None:
        log.info("feed %d pulled: run %d %s", claim.feed_id, run.id, run.status)
    return run


def apply_queued_feeds(*, now: dt.datetime | None = None) -> list[FeedRun]:
    """Apply queued pushes and uploads, oldest first, each in its own transaction.

    A fault while applying one (not a bad file: those are rejected runs) closes that run as
    failed so it cannot block its vendor's queue; a lost database connection leaves the run
    queued for the next tick.
    """
    started = time.monotonic()
    runs: list[FeedRun] = []
    while time.monotonic() - started < FEED_PULL_BUDGET_SECONDS:
        run_id = None
        try:
            with transaction(db.session):
                run = queue.claim_next(db.session)
                if run is None:
                    break
                run_id = run.id
                runs.append(
                    queue.apply_claimed(db.session, run, now=now or utcnow(), hold_share=hold_share())
                )
        except sa.exc.OperationalError:
            log.exception("applying queued feed run %s: database unavailable; retried next tick", run_id)
            break
        except Exception:
            log.exception("applying queued feed run %s failed", run_id)
            if run_id is None:
                break
            with transaction(db.session):
                queue.fail(
                    db.session, run_id, "the hub could not apply this file; send it again", now=utcnow()
                )
            continue
        log.info("queued feed run %d applied: %s", run_id, runs[-1].status)
    return runs


def fetch_sample(feed_id: int, *, vendor_id: int) -> bytes:
    """Fetch a pull feed's file as it is now, unconditionally and with no transaction open (previews).

    Raises NotFound; Conflict when its stored credentials cannot be read; InvalidInput when it is
    not a pull feed or the fetch failed (the reason under `url`).
    """
    with transaction(db.session):
        feed = configs.get_feed(db.session, feed_id, vendor_id=vendor_id)
        if feed.transport != PULL:
            raise InvalidInput(
                f"feed {feed_id} is a {feed.transport} feed: there is no URL to fetch a sample from; send one",
                errors={"_body": ["a sample file is required for this feed"]},
            )
        try:
            source = configs.pull_source(feed, feed_credentials())
        except CredentialsUnreadable as exc:
            raise Conflict(str(exc)) from None
    settings = pull_settings()
    with http_session(settings) as http:
        result = pull(http, source, settings)
    if result.outcome != OK:
        reason = result.reason or "the fetch failed"
        raise InvalidInput(f"the feed URL could not be fetched: {reason}", errors={"url": [reason]})
    return result.data


def feed_health(*, now: dt.datetime | None = None) -> None:
    """Publish stale/recovered transitions and late feeds."""
    now = now or utcnow()
    with transaction(db.session):
        health.mark_stale_sources(db.session, now=now)
        health.check_cadence(db.session, now=now)


def drop_old_feed_files(*, now: dt.datetime | None = None) -> None:
    """Delete raw feed files older than HUB_FEED_RAW_RETENTION_DAYS (held runs keep theirs)."""
    days = int(current_app.config["HUB_FEED_RAW_RETENTION_DAYS"])
    with transaction(db.session):
        dropped = health.drop_old_payloads(db.session, before=(now or utcnow()) - dt.timedelta(days=days))
    if dropped:
        log.info("feed retention: dropped %d raw files", dropped)


def prune_login_attempts(*, now: dt.datetime | None = None) -> None:
    """Delete portal sign-in attempts older than HUB_LOGIN_ATTEMPT_RETENTION_DAYS."""
    keep = dt.timedelta(days=float(current_app.config["HUB_LOGIN_ATTEMPT_RETENTION_DAYS"]))
    with transaction(db.session):
        dropped = accounts.prune_login_attempts(db.session, now=now or utcnow(), keep=keep)
    if dropped:
        log.info("sign-in retention: dropped %d attempts", dropped)


def jobs() -> list[tuple[str, Callable[[], None], int]]:
    """(name, callable, interval seconds) of every job the worker runs."""
    return [
        ("stale_sweep", StaleSweep(), STALE_SWEEP_SECONDS),
        ("pull_due_feeds", pull_due_feeds, FEED_PULL_SECONDS),
        ("apply_queued_feeds", apply_queued_feeds, FEED_QUEUE_SECONDS),
        ("feed_health", feed_health, FEED_HEALTH_SECONDS),
        ("feed_raw_retention", drop_old_feed_files, FEED_RETENTION_SECONDS),
        ("evaluate_flags", evaluate_flags, EVALUATE_SECONDS),
        ("vendor_notices", send_vendor_notices, NOTICES_SECONDS),
        ("webhook_retention", prune_old_deliveries, RETENTION_JOB_SECONDS),
        ("login_attempt_retention", prune_login_attempts, RETENTION_JOB_SECONDS),
    ]


def _in_app(app: Flask, job: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                job()
            except Exception:  # a failing job must not stop the scheduler; it runs again next tick
                log.exception("background job failed")
            finally:
                db.session.remove()

    return run


def build_scheduler(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=dt.UTC, job_defaults={"coalesce": True, "max_instances": 1})
    for name, job, seconds in jobs():
        scheduler.add_job(_in_app(app, job), "interval", seconds=seconds, id=name, next_run_time=utcnow())
    return scheduler


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """Run the jobs inside the web process (development, `make run`)."""
    scheduler = build_scheduler(app)
    scheduler.start()
    app.extensions["hub_scheduler"] = scheduler
    start_dispatcher(app)  # webhooks: woken by commits, not by a scheduler tick
    return scheduler


def run_worker(app: Flask) -> None:
    """Run the jobs in this process until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = build_scheduler(app)
    scheduler.start()
    dispatcher = start_dispatcher(app)
    log.info("worker started with jobs: %s", ", ".join(name for name, _, _ in jobs()))
    stop.wait()
    scheduler.shutdown(wait=True)
    dispatcher.stop()
