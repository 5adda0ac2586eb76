"""Two workers against one PostgreSQL: every due feed is pulled exactly once (SKIP LOCKED leases)."""

from __future__ import annotations

import collections
import threading

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Request, Response

from network.catalog import services as catalog
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.feeds import configs
from network.feeds.credentials import Credentials
from network.feeds.models import FeedRun
from network.feeds.pull import PullSettings
from network.jobs import pull_due_feeds
from network.partners.services import create_organization

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
