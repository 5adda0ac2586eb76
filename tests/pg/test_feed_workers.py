"""Two workers against one PostgreSQL: every due feed is pulled exactly once (SKIP LOCKED leases), and
feed health is checked by one at a time (a quiet feed is reported late once)."""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.wrappers import Request, Response

from network.catalog import services as catalog
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.feeds import configs, health, scheduling
from network.feeds.credentials import Credentials
from network.feeds.models import Feed, FeedRun
from network.feeds.pull import OK, PullResult, PullSettings
from network.jobs import feed_health, pull_due_feeds
from network.outbox.models import Event
from network.partners.services import connect, create_organization

pytestmark = pytest.mark.postgres

VENDORS = 4
FEEDS_PER_VENDOR = 6


def test_two_workers_pull_each_due_feed_exactly_once(pg_app, httpserver):
    pg_app.config.update(HUB_FEED_ALLOWED_HOSTS="localhost", HUB_FEED_PULL_BATCH=3)
    requests_seen: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def export(request: Request) -> Response:
        with lock:
            requests_seen[request.path] += 1
        vendor = request.path.split("/")[2]
        return Response(f"sku,quantity\nSKU-{vendor},{len(request.path)}\n")

    for v in range(VENDORS):
        for f in range(FEEDS_PER_VENDOR):
            httpserver.expect_request(f"/feeds/{v}/{f}.csv").respond_with_handler(export)
    now = utcnow()
    with transaction(db.session):
        for v in range(VENDORS):
            vendor = create_organization(db.session, kind="vendor", name=f"V{v}", now=now)
            catalog.upsert_variant(db.session, vendor_id=vendor.id, vendor_sku=f"SKU-{v}", title="t", now=now)
            for f in range(FEEDS_PER_VENDOR):
                configs.create_feed(
                    db.session,
                    vendor_id=vendor.id,
                    values={
                        "name": f"feed {f}",
                        "transport": "pull",
                        "url": httpserver.url_for(f"/feeds/{v}/{f}.csv"),
                        "mode": "delta",
                    },
                    credentials=Credentials("test-secret"),
                    pull_settings=PullSettings.from_config(pg_app.config),
                    now=now,
                )
    db.session.remove()

    start = threading.Barrier(2)
    results: dict[str, list[int]] = {}
    failures: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with pg_app.app_context():
                start.wait(timeout=10)
                results[name] = [run.feed_id for run in pull_due_feeds(now=now)]
                db.session.remove()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not failures, failures
    total = VENDORS * FEEDS_PER_VENDOR
    assert len(requests_seen) == total and set(requests_seen.values()) == {1}
    pulled = results["one"] + results["two"]
    assert sorted(pulled) == sorted(set(pulled)) and len(pulled) == total
    runs = db.session.scalars(sa.select(FeedRun.status)).all()
    assert len(runs) == total and set(runs) == {"applied"}
    # Nothing is due any more until the interval has passed.
    with pg_app.app_context():
        assert pull_due_feeds(now=now) == []


def test_two_workers_checking_feed_health_at_once_report_a_quiet_feed_late_once(pg_app):
    now = utcnow()
    created = now - dt.timedelta(minutes=10)  # a pull feed due every minute that never answered
    with transaction(db.session):
        vendor = create_organization(db.session, kind="vendor", name="Quiet vendor", now=created)
        retailer = create_organization(db.session, kind="retailer", name="Its retailer", now=created)
        connect(db.session, retailer_id=retailer.id, vendor_id=vendor.id, now=created)
        configs.create_feed(
            db.session,
            vendor_id=vendor.id,
            values={
                "name": "export",
                "transport": "pull",
                "url": "https://erp.example.com/stock.csv",
                "interval_minutes": 1,
            },
            credentials=Credentials("test-secret"),
            pull_settings=PullSettings.from_config(pg_app.config),
            now=created,
        )
    db.session.remove()

    def second_worker() -> None:
        with pg_app.app_context():
            feed_health(now=now)
            db.session.remove()

    first = Session(db.engine)
    with transaction(first):  # the first worker's check, not committed yet
        assert health.check_feeds(first, now=now)
        second = threading.Thread(target=second_worker)
        second.start()
        deadline = time.monotonic() + 30
        while second.is_alive() and not _waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.02)
    first.close()
    second.join(30)

    late = db.session.scalars(sa.select(Event.org_id).where(Event.type == "feed.late")).all()
    assert sorted(late) == sorted([vendor.id, retailer.id])  # once each, not once per worker


def test_a_pull_that_succeeds_while_feed_health_runs_is_neither_undone_nor_reported_late(pg_app):
    now = utcnow()
    created = now - dt.timedelta(minutes=10)  # due every minute and never answered: late, as last read
    with transaction(db.session):
        vendor = create_organization(db.session, kind="vendor", name="Slow vendor", now=created)
        retailer = create_organization(db.session, kind="retailer", name="Its retailer", now=created)
        connect(db.session, retailer_id=retailer.id, vendor_id=vendor.id, now=created)
        catalog.upsert_variant(db.session, vendor_id=vendor.id, vendor_sku="SLOW-1", title="t", now=created)
        feed = configs.create_feed(
            db.session,
            vendor_id=vendor.id,
            values={
                "name": "export",
                "transport": "pull",
                "url": "https://erp.example.com/s.csv",
                "interval_minutes": 1,
            },
            credentials=Credentials("test-secret"),
            pull_settings=PullSettings.from_config(pg_app.config),
            now=created,
        )
        claim = scheduling.claim_feed(
            db.session, feed.id, vendor_id=vendor.id, now=now, lease=dt.timedelta(minutes=5)
        )
    db.session.remove()

    def checker() -> None:
        with pg_app.app_context():
            feed_health(now=now)
            db.session.remove()

    pulling = Session(db.engine)
    with transaction(pulling):  # the pull's answer being recorded: it holds the feed's row
        result = PullResult(outcome=OK, data=b"sku,quantity\nSLOW-1,4\n", content_type="text/csv")
        run = scheduling.record_pull(pulling, claim, result, now=now, hold_share=None)
        assert run.status == "applied"
        check = threading.Thread(target=checker)
        check.start()  # reads the feed as it was (never answered), then waits for the row
        deadline = time.monotonic() + 30
        while check.is_alive() and not _waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert check.is_alive(), "the check wrote the feed's row without waiting for the pull"
    pulling.close()
    check.join(30)

    feed = db.session.get(Feed, feed.id)
    assert feed.last_success_at == now and not feed.late_notified
    assert db.session.scalars(sa.select(Event).where(Event.type == "feed.late")).all() == []


def _waiting_on_a_lock() -> bool:
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    with db.engine.connect() as conn:
        return bool(conn.execute(sa.text(query)).scalar())
