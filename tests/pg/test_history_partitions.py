"""History partitioned by month on PostgreSQL (issue 20): rows land in their month, the job makes
months ahead, retention drops an expired month whole and keeps what is still needed, and cursors
by id page across a partition boundary."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.feeds.models import FeedRun, FeedRunPayload
from network.flags.notices import claim_notices
from network.history import months
from network.history.retention import Report, maintain
from network.outbox.fanout import fan_out
from network.partitions import add_months, month_start, partition_name
from tests.builders import make_network, make_variant, push_json
from tests.order_helpers import place, stocked_item

pytestmark = pytest.mark.postgres

TABLES = ("stock_ledger", "events", "webhook_deliveries", "feed_runs")


@pytest.fixture
def hub(pg_app):
    pg_app.config.update({"HUB_WEBHOOK_ALLOW_HTTP_HOSTS": "127.0.0.1", "HUB_WEBHOOK_ALLOW_PRIVATE": True})
    return pg_app


@pytest.fixture
def network(hub):
    return make_network(db.session, hub.test_client(), retailers=1, vendors=1)


def _maintain(app, now: dt.datetime, **config) -> Report:
    app.config.update(config)
    report = maintain(db.session, app.config, now=now)
    db.session.rollback()
    return report


def _partition_of(table: str, row_id: int) -> str:
    return db.session.scalar(
        sa.text(f"SELECT tableoid::regclass::text FROM {table} WHERE id = :id"), {"id": row_id}
    )


def _ledger_ids() -> list[int]:
    return list(db.session.scalars(sa.text("SELECT id FROM stock_ledger ORDER BY id")))


def _move(table: str, key: str, ids: list[int], to: dt.datetime) -> None:
    """Give rows another creation time: PostgreSQL moves them into that month's partition."""
    with transaction(db.session):
        months.ensure(db.session, table, key, month_start(to), month_start(to))
        db.session.execute(
            sa.text(f"UPDATE {table} SET {key} = :to WHERE id = ANY(:ids)"), {"to": to, "ids": ids}
        )


def test_the_job_makes_months_ahead_and_moves_rows_out_of_the_default(hub, network):
    vendor = network.vendor
    stocked_item(db.session, vendor, network.retailers, 5, sku="LAMP")
    (entry,) = _ledger_ids()
    assert _partition_of("stock_ledger", entry) == "stock_ledger_default"  # no month yet: nothing fails

    now = utcnow()
    report = _maintain(hub, now, HUB_PARTITION_MONTHS_AHEAD=2)

    wanted = [partition_name(t, add_months(month_start(now), n)) for t in TABLES for n in range(3)]
    assert sorted(report.created) == sorted(wanted)
    assert report.moved >= 3  # the ledger entry, the feed run, the events of the push
    assert _partition_of("stock_ledger", entry) == partition_name("stock_ledger", month_start(now))
    assert _maintain(hub, now).created == []  # made once
    # New rows go straight to their month.
    place(network.retailer, [("LAMP", 2)])
    newest = _ledger_ids()[-1]
    assert _partition_of("stock_ledger", newest) == partition_name("stock_ledger", month_start(now))


def test_the_ledger_pages_across_months_and_an_expired_month_goes_whole(hub, network):
    vendor, retailer = network.vendor, network.retailer
    now = utcnow()
    _maintain(hub, now)
    _, sku = stocked_item(db.session, vendor, [retailer], 10, sku="CHAIR")
    for _ in range(5):
        assert place(retailer, [(sku, 1)]).status_code == 201
    ids = _ledger_ids()
    assert len(ids) == 6
    # The older half of the ids moves to next month: paging by id now alternates partitions.
    next_month = add_months(month_start(now), 1)
    _move("stock_ledger", "at", ids[:3], next_month + dt.timedelta(days=1))
    assert {_partition_of("stock_ledger", i) for i in ids} == {
        partition_name("stock_ledger", month_start(now)),
        partition_name("stock_ledger", next_month),
    }

    def read_all(limit: int) -> list[int]:
        seen, cursor = [], ""
        while True:
            page = vendor.api.get(f"/vendor-api/v1/ledger?sku=CHAIR&limit={limit}{cursor}").get_json()
            seen += [e["id"] for e in page["data"]]
            if not page["next_cursor"]:
                return seen
            cursor = f"&cursor={page['next_cursor']}"

    assert read_all(2) == read_all(1000) == ids

    # A month later than 30 days after this month ended, this month's ledger is dropped whole;
    # next month's, younger than that, stays.
    later = next_month + dt.timedelta(days=30, hours=1)
    report = _maintain(hub, later, HUB_LEDGER_RETENTION_DAYS=30)
    assert partition_name("stock_ledger", month_start(now)) in report.dropped
    assert partition_name("stock_ledger", next_month) not in report.dropped
    assert read_all(2) == ids[:3]
    # Other tables keep their own retention (feed runs: 180 days by default).
    assert partition_name("feed_runs", month_start(now)) not in report.dropped


def test_events_stay_until_read_and_delivered_and_pending_deliveries_keep_their_month(hub, network):
    retailer = network.retailer
    endpoint = retailer.api.post(
        "/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]}
    ).get_json()
    assert retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping").status_code in (
        200,
        201,
        202,
    )
    event_id, delivery_id = db.session.execute(sa.text("SELECT event_id, id FROM webhook_deliveries")).one()
    now = utcnow()
    old = add_months(month_start(now), -3) + dt.timedelta(days=2)
    _move("events", "created_at", [event_id], old)
    _move("webhook_deliveries", "created_at", [delivery_id], old)
    old_events = partition_name("events", month_start(old))
    old_deliveries = partition_name("webhook_deliveries", month_start(old))
    settings = {"HUB_EVENT_RETENTION_DAYS": 30, "HUB_WEBHOOK_RETENTION_DAYS": 30}

    report = _maintain(hub, now, **settings)
    assert report.kept[old_deliveries] == "deliveries still pending"
    assert report.kept[old_events] == "the webhook fan-out has not read the outbox yet"

    with transaction(db.session):  # the outbox's readers read the event
        fan_out(db.session, now=now, retry_for=dt.timedelta(days=1))
        claim_notices(db.session, now=now, public_url="http://hub.test")
    # They move their cursors past it once every older transaction of the server has ended (other
    # databases' too): pinned here, so that a long transaction elsewhere cannot hold the test.
    with transaction(db.session):
        for table in ("outbox_cursors", "vendor_notice_cursors"):
            db.session.execute(
                sa.text(
                    f"UPDATE {table} SET (last_txid, last_event_id) ="
                    " (SELECT txid, id FROM events WHERE id = :id)"
                ),
                {"id": event_id},
            )
    report = _maintain(hub, now, **settings)
    assert report.kept[old_events] == "webhook deliveries of these events remain"
    assert old_deliveries in report.kept

    with transaction(db.session):
        db.session.execute(
            sa.text("UPDATE webhook_deliveries SET status = 'delivered' WHERE id = :id"), {"id": delivery_id}
        )
    report = _maintain(hub, now, **settings)
    assert {old_deliveries, old_events} <= set(report.dropped)
    assert db.session.scalar(sa.text("SELECT count(*) FROM events WHERE id = :id"), {"id": event_id}) == 0
    # This month's events (the endpoint's creation is audited, not an event; the ping was moved)
    # and partitions are untouched.
    assert partition_name("events", month_start(now)) not in report.dropped


def test_feed_runs_a_queued_apply_or_a_current_snapshot_needs_stay(hub, network):
    vendor = network.vendor
    make_variant(db.session, vendor, "MUG")
    first = push_json(vendor, [{"sku": "MUG", "quantity": 3}], mode="full").get_json()["id"]
    second = push_json(vendor, [{"sku": "MUG", "quantity": 4}], mode="full").get_json()["id"]
    hub.config["HUB_ASYNC_PUSH_BYTES"] = 1
    response = push_json(vendor, [{"sku": "MUG", "quantity": 5}], mode="full")
    assert response.status_code == 202
    queued = response.get_json()["id"]
    now = utcnow()
    where = {first: -3, second: -4, queued: -5}  # months back
    for run, back in where.items():
        _move("feed_runs", "received_at", [run], add_months(month_start(now), back) + dt.timedelta(days=1))
    assert db.session.get(FeedRunPayload, first) is not None
    db.session.rollback()

    report = _maintain(hub, now, HUB_FEED_RUN_RETENTION_DAYS=30)

    def name(back: int) -> str:
        return partition_name("feed_runs", add_months(month_start(now), back))

    assert name(-3) in report.dropped
    assert report.kept[name(-4)] == "a vendor's current snapshot"
    assert report.kept[name(-5)] == "runs held or queued"
    assert db.session.get(FeedRun, first) is None
    assert db.session.get(FeedRunPayload, first) is None  # its raw file went with it
    assert db.session.get(FeedRunPayload, queued) is not None  # the worker still needs this one


def test_the_event_log_pages_across_months(hub, network):
    retailer = network.retailer
    endpoint = retailer.api.post(
        "/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]}
    ).get_json()
    for _ in range(4):
        retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping")

    def read_all(limit: int) -> list[str]:
        seen, cursor = [], ""
        while True:
            page = retailer.api.get(f"/api/v1/events?limit={limit}{cursor}").get_json()
            seen += [e["id"] for e in page["data"]]
            if not page["data"]:  # a change feed always gives the cursor to resume from
                return seen
            cursor = f"&cursor={page['next_cursor']}"

    everything = read_all(1000)
    assert len(everything) >= 4
    now = utcnow()
    _maintain(hub, now)
    ids = list(db.session.scalars(sa.text("SELECT id FROM events ORDER BY id")))
    _move("events", "created_at", ids[::2], add_months(month_start(now), 1) + dt.timedelta(days=1))
    assert len({_partition_of("events", i) for i in ids}) == 2
    assert read_all(1) == everything
