"""Background work (APScheduler): short interval jobs, each one unit of work in its own transaction."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Mapping

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app

from network.availability import aging
from network.availability.services import items_turning_stale, publish_changes
from network.clock import utcnow
from network.connectors import services as connector_services
from network.connectors import sync as connector_sync
from network.db import transaction
from network.extensions import db
from network.feeds import health, pulling, queue
from network.feeds.models import FeedRun
from network.flag_jobs import EVALUATE_SECONDS, NOTICES_SECONDS, evaluate_flags, send_vendor_notices
from network.history import retention as history_retention
from network.outbox.settings import WebhookSettings
from network.partners import accounts, onboarding
from network.trading import files as trading_files
from network.trading import mailbox
from network.webhook_worker import RETENTION_JOB_SECONDS, prune_old_deliveries, start_dispatcher

log = logging.getLogger(__name__)

STALE_SWEEP_SECONDS = 30
FEED_PULL_SECONDS = 30
FEED_HEALTH_SECONDS = 60
FEED_RETENTION_SECONDS = 3600
# Queued pushes wait at most this long for a worker to look (plus the applies ahead of them).
FEED_QUEUE_SECONDS = 2
# One pull job returns after this long even if feeds are still due, so the next tick (or another
# worker) carries on and a shutdown is never kept waiting for a long backlog.
FEED_PULL_BUDGET_SECONDS = 120
# EDI: 850/860 written and pending files pushed within this long; mailboxes polled per partner.
EDI_EXCHANGE_SECONDS = 30
# Storefront connectors: one coalescing interval (shipments back, figures out).
CONNECTOR_SYNC_SECONDS = connector_services.SYNC_SECONDS
# Storefront connectors: compare the stores' figures with the hub's and set the drifted ones again.
CONNECTOR_DRIFT_SECONDS = 15 * 60
# The polling fallback for store order webhooks that never came.
CONNECTOR_POLL_SECONDS = 5 * 60


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


class RepublishAging:
    """Predictive retailers: publish the figures of fast sellers whose aging counts moved them.

    Each run looks at what moved since the last one (the first, at every item that can move); one
    read of the candidates, then a transaction per batch of the items that moved. Items whose hub
    figure stayed but whose automatic buffer on a throttled endpoint or a connector moved are owed
    to that channel (its next coalesced push or sync carries the corrected figure).
    """

    def __init__(self) -> None:
        self.last: dt.datetime | None = None

    def __call__(self, *, now: dt.datetime | None = None) -> int:
        now = now or utcnow()
        retry_for = WebhookSettings.from_config(current_app.config).retry_for
        with transaction(db.session):
            endpoints = aging.automatic_endpoints(db.session)
            connectors = connector_sync.automatic_connectors(db.session)
            minutes: dict[int, set[float]] = {}
            for channels in (endpoints, connectors):
                for retailer, by_minutes in channels.items():
                    minutes.setdefault(retailer, set()).update(by_minutes)
            moves = aging.aging_moves(db.session, now=now, since=self.last, channel_minutes=minutes)
            owed = aging.owe_channels(db.session, moves, endpoints, now=now, retry_for=retry_for)
            owed += connector_sync.owe_aging(db.session, moves, connectors)
        item_ids = moves.items
        moved = 0
        for batch in aging.batches(item_ids):
            with transaction(db.session):
                moved += aging.republish_batch(db.session, batch, now=now)
        self.last = now
        if moved or owed:
            log.info("aging counts: %d items changed availability, %d owed to channels", moved, owed)
        return moved


def pull_due_feeds(*, now: dt.datetime | None = None) -> list[FeedRun]:
    """Pull the due feeds for at most FEED_PULL_BUDGET_SECONDS. `now` pins the clock (tests)."""
    return pulling.pull_due(db.session, current_app.config, budget_seconds=FEED_PULL_BUDGET_SECONDS, now=now)


def apply_queued_feeds(*, now: dt.datetime | None = None) -> list[FeedRun]:
    """Apply queued pushes and uploads for at most FEED_PULL_BUDGET_SECONDS. `now` pins the clock (tests)."""
    return queue.apply_queued(
        db.session, current_app.config, budget_seconds=FEED_PULL_BUDGET_SECONDS, now=now
    )


def feed_health(*, now: dt.datetime | None = None) -> None:
    """Publish stale/recovered transitions and late feeds."""
    now = now or utcnow()
    with transaction(db.session):
        health.check_feeds(db.session, now=now, minute=pulling.feed_minute(current_app.config))


def drop_old_feed_files(*, now: dt.datetime | None = None) -> None:
    """Delete raw feed files older than HUB_FEED_RAW_RETENTION_DAYS (held runs keep theirs)."""
    days = int(current_app.config["HUB_FEED_RAW_RETENTION_DAYS"])
    with transaction(db.session):
        dropped = health.drop_old_payloads(db.session, before=(now or utcnow()) - dt.timedelta(days=days))
        # EDI files exchanged with trading partners are kept as long as feed runs' files.
        dropped += trading_files.drop_old_raw(db.session, before=(now or utcnow()) - dt.timedelta(days=days))
    if dropped:
        log.info("feed retention: dropped %d raw files", dropped)


def maintain_history(*, now: dt.datetime | None = None) -> history_retention.Report:
    """PostgreSQL: make next months' history partitions, drop the expired ones that may go."""
    report = history_retention.maintain(db.session, current_app.config, now=now or utcnow())
    if report.created or report.dropped:
        log.info("history partitions: made %s, dropped %s", report.created, report.dropped)
    if report.dropped_elsewhere:
        log.info("history partitions dropped by another worker meanwhile: %s", report.dropped_elsewhere)
    for partition, reason in report.kept.items():
        log.info("history partition %s kept past its retention: %s", partition, reason)
    return report


def exchange_edi(*, now: dt.datetime | None = None) -> None:
    """Write owed 850s/860s, flag 850s with no 997, visit due partners' SFTP mailboxes."""
    rounds = mailbox.exchange_due(db.session, current_app.config, now=now)
    moved = sum(len(r.pushed) + len(r.taken) for r in rounds)
    if moved:
        log.info("EDI: %d files exchanged with %d partners", moved, len(rounds))


def sync_connectors(*, now: dt.datetime | None = None) -> None:
    """Write shipments and vendor cancellations back to the stores, and set their stock."""
    reports = connector_sync.sync_due(
        db.session, connector_sync.config_clients(current_app.config), now=now or utcnow()
    )
    for report in reports:
        if report.fulfillments or report.notes or report.figures_sent:
            log.info("connector %s: %s", report.connector_id, report)


def poll_connector_orders(*, now: dt.datetime | None = None) -> None:
    """Take in store orders whose webhook never came (the same intake: nothing twice)."""
    taken = connector_sync.poll_due(
        db.session, connector_sync.config_clients(current_app.config), now=now or utcnow()
    )
    if taken:
        log.info("connector polling: %d orders taken in or cancelled", taken)


def repair_connector_drift(*, now: dt.datetime | None = None) -> None:
    """Set again the store figures that drifted from what the hub set (a merchant's edit, a lost call)."""
    clients = connector_sync.config_clients(current_app.config)
    repaired = connector_sync.repair_drift(db.session, clients, now=now or utcnow())
    if repaired:
        log.info("connector drift repaired: %s", repaired)


def prune_login_attempts(*, now: dt.datetime | None = None) -> None:
    """Delete portal sign-in attempts older than HUB_LOGIN_ATTEMPT_RETENTION_DAYS."""
    keep = dt.timedelta(days=float(current_app.config["HUB_LOGIN_ATTEMPT_RETENTION_DAYS"]))
    with transaction(db.session):
        dropped = accounts.prune_login_attempts(db.session, now=now or utcnow(), keep=keep)
    if dropped:
        log.info("sign-in retention: dropped %d attempts", dropped)


def prune_abandoned_signups(*, now: dt.datetime | None = None) -> None:
    """Delete the sign-up page's retailers whose owner never followed an activation link in time."""
    with transaction(db.session):
        dropped = onboarding.prune_abandoned_signups(db.session, now=now or utcnow())
    if dropped:
        log.info("sign-up retention: dropped %d never-activated organizations", dropped)


def jobs() -> list[tuple[str, Callable[[], None], int]]:
    """(name, callable, interval seconds) of every job the worker runs."""
    return [
        ("stale_sweep", StaleSweep(), STALE_SWEEP_SECONDS),
        ("republish_aging", RepublishAging(), aging.AGING_SECONDS),
        ("pull_due_feeds", pull_due_feeds, FEED_PULL_SECONDS),
        ("apply_queued_feeds", apply_queued_feeds, FEED_QUEUE_SECONDS),
        ("feed_health", feed_health, FEED_HEALTH_SECONDS),
        ("feed_raw_retention", drop_old_feed_files, FEED_RETENTION_SECONDS),
        ("evaluate_flags", evaluate_flags, EVALUATE_SECONDS),
        ("exchange_edi", exchange_edi, EDI_EXCHANGE_SECONDS),
        ("sync_connectors", sync_connectors, CONNECTOR_SYNC_SECONDS),
        ("repair_connector_drift", repair_connector_drift, CONNECTOR_DRIFT_SECONDS),
        ("poll_connector_orders", poll_connector_orders, CONNECTOR_POLL_SECONDS),
        ("vendor_notices", send_vendor_notices, NOTICES_SECONDS),
        ("webhook_retention", prune_old_deliveries, RETENTION_JOB_SECONDS),
        ("login_attempt_retention", prune_login_attempts, RETENTION_JOB_SECONDS),
        ("signup_retention", prune_abandoned_signups, RETENTION_JOB_SECONDS),
        ("history_partitions", maintain_history, RETENTION_JOB_SECONDS),
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


def interval_seconds(config: Mapping[str, object], name: str, default: float) -> float:
    """A job's interval: HUB_JOB_<NAME>_SECONDS when set (e.g. HUB_JOB_PULL_DUE_FEEDS_SECONDS), else its own.

    Operators tune how often a job looks for work; the multi-process test makes the feed jobs
    tick every second so a bounded run sees every due time.
    """
    return float(config.get(f"HUB_JOB_{name.upper()}_SECONDS") or default)


def build_scheduler(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=dt.UTC, job_defaults={"coalesce": True, "max_instances": 1})
    for name, job, seconds in jobs():
        every = interval_seconds(app.config, name, seconds)
        scheduler.add_job(_in_app(app, job), "interval", seconds=every, id=name, next_run_time=utcnow())
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
