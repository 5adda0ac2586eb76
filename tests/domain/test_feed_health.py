"""Feed health: late feeds warned once, stale sources once per transition, old raw files dropped."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.clock import utcnow
from network.db import transaction
from network.feeds import configs
from network.feeds.credentials import Credentials
from network.feeds.health import usual_interval
from network.feeds.models import Feed, FeedRunPayload
from network.feeds.pull import PullSettings
from network.feeds.services import FeedReceipt, receive_feed
from network.jobs import drop_old_feed_files, feed_health
from network.outbox.models import Event
from network.partners.models import Connection
from network.uploads import upload_feeds
from tests.builders import make_variant

HOUR = dt.timedelta(hours=1)


def new_feed(session, vendor_id: int, now: dt.datetime, **values) -> int:
    values = {"name": "feed", "transport": "upload", "mode": "delta", **values}
    with transaction(session):
        feed = configs.create_feed(
            session,
            vendor_id=vendor_id,
            values=values,
            credentials=Credentials("test-secret"),
            pull_settings=PullSettings(allow_private=True),
            now=now,
        )
    return feed.id


def send(session, vendor_id: int, feed_id: int, text: str, now: dt.datetime):
    with transaction(session):
        return upload_feeds.receive_upload(
            session,
            feed_id,
            vendor_id=vendor_id,
            data=text.encode(),
            content_type="text/csv",
            now=now,
            hold_share=0.5,
        )


def events(session, kind: str) -> list[Event]:
    session.rollback()
    return list(session.scalars(sa.select(Event).where(Event.type == kind).order_by(Event.id)))


def test_the_usual_interval_is_the_median_gap_and_needs_a_few_runs():
    t = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

    assert usual_interval([t, t + HOUR, t + 2 * HOUR]) is None  # two gaps teach nothing yet
    # One late night (a 5-hour gap) and one double send do not move the usual hour.
    moments = [t, t + HOUR, t + 2 * HOUR, t + 7 * HOUR, t + 7 * HOUR, t + 8 * HOUR, t + 9 * HOUR]
    assert usual_interval(moments) == HOUR


def test_a_feed_silent_for_three_usual_intervals_warns_vendor_and_retailers_once(session, network):
    vendor = network.vendor
    make_variant(session, vendor, "LATE-1")
    start = utcnow()
    feed_id = new_feed(session, vendor.id, start)
    for hour in range(5):
        send(session, vendor.id, feed_id, f"sku,quantity\nLATE-1,{hour + 1}\n", start + hour * HOUR)
    last = start + 4 * HOUR

    feed_health(now=last + 3 * HOUR - dt.timedelta(minutes=1))
    assert events(session, "feed.late") == []
    feed_health(now=last + 3 * HOUR + dt.timedelta(minutes=1))
    feed_health(now=last + 5 * HOUR)

    late = events(session, "feed.late")
    assert sorted(e.org_id for e in late) == sorted([vendor.id, *(r.id for r in network.retailers)])
    assert late[0].data["usual_interval_minutes"] == 60
    feed = session.get(Feed, feed_id)
    assert (feed.learned_interval_minutes, feed.late_notified) == (60, True)

    send(session, vendor.id, feed_id, "sku,quantity\nLATE-1,9\n", last + 6 * HOUR)
    feed_health(now=last + 6 * HOUR)
    session.refresh(feed)
    assert feed.late_notified is False  # back on time: the next silence warns again


def test_a_pull_feed_that_never_succeeded_is_late_after_three_of_its_intervals(session, network):
    start = utcnow()
    new_feed(
        session,
        network.vendor.id,
        start,
        transport="pull",
        url="https://feeds.example.com/x.csv",
        interval_minutes=15,
    )

    feed_health(now=start + dt.timedelta(minutes=44))
    assert events(session, "feed.late") == []
    feed_health(now=start + dt.timedelta(minutes=46))
    assert len(events(session, "feed.late")) == 1 + len(network.retailers)


def test_pushes_through_the_inventory_api_keep_a_push_feed_on_time(session, network):
    vendor = network.vendor
    make_variant(session, vendor, "PUSH-1")
    start = utcnow()
    feed_id = new_feed(session, vendor.id, start, transport="push")
    for hour in range(4):
        receipt = FeedReceipt(
            vendor_id=vendor.id,
            transport="push",
            mode="delta",
            basis="available",
            data=f"sku,quantity\nPUSH-1,{hour}\n".encode(),
        )
        with transaction(session):
            receive_feed(session, receipt, now=start + hour * HOUR)

    feed_health(now=start + 4 * HOUR)

    feed = session.get(Feed, feed_id)
    session.refresh(feed)
    assert feed.learned_interval_minutes == 60
    assert feed.last_success_at == start + 3 * HOUR


def test_paused_connections_get_no_stale_warnings(session, network):
    vendor = network.vendor
    make_variant(session, vendor, "P-1")
    start = utcnow()
    feed_id = new_feed(session, vendor.id, start)
    send(session, vendor.id, feed_id, "sku,quantity\nP-1,1\n", start)
    with transaction(session):
        paused = session.scalar(
            sa.select(Connection).where(Connection.vendor_id == vendor.id).order_by(Connection.id).limit(1)
        )
        paused.status = "paused"

    feed_health(now=start + 25 * HOUR)

    stale = events(session, "feed.stale")
    assert {e.org_id for e in stale} == {vendor.id} | {
        r.id for r in network.retailers if r.id != paused.retailer_id
    }


def test_old_raw_files_are_dropped_but_held_runs_keep_theirs(session, network):
    vendor = network.vendor
    for i in range(4):
        make_variant(session, vendor, f"R{i}")
    start = utcnow()
    feed_id = new_feed(session, vendor.id, start, mode="full")
    applied = send(session, vendor.id, feed_id, "sku,quantity\nR0,1\nR1,1\nR2,1\nR3,1\n", start)
    held = send(session, vendor.id, feed_id, "sku,quantity\nR0,1\n", start)
    assert held.status == "held"
    fresh = send(
        session, vendor.id, feed_id, "sku,quantity\nR0,2\nR1,2\nR2,2\nR3,2\n", start + 40 * 24 * HOUR
    )

    drop_old_feed_files(now=start + 31 * 24 * HOUR)

    session.rollback()
    kept = set(session.scalars(sa.select(FeedRunPayload.run_id)))
    assert kept == {held.id, fresh.id}
    assert applied.id not in kept


# --- the pipeline's books balance for any file ---------------------------------------------------

_CELL = st.sampled_from(["KNOWN-1", "KNOWN-2", "UNKNOWN", "", "KNOWN-1 "]) | st.text(max_size=6)
_QTY = st.sampled_from(["0", "5", "-1", "1.5", "x", "", "99999999999"]) | st.integers(0, 50).map(str)


@given(
    rows=st.lists(st.tuples(_CELL, _QTY), max_size=12),
    junk=st.binary(max_size=40),
    mode=st.sampled_from(["full", "delta"]),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_for_every_file_rows_applied_plus_rows_rejected_equal_rows_seen(session, network, rows, junk, mode):
    vendor = network.vendor
    if not session.scalar(sa.select(sa.func.count()).select_from(Feed)):
        make_variant(session, vendor, "KNOWN-1")
        make_variant(session, vendor, "KNOWN-2")
        new_feed(session, vendor.id, utcnow())
    text = "sku,quantity\n" + "".join(f"{sku.replace(',', ' ')},{qty}\n" for sku, qty in rows)
    for data in (text.encode(), text.encode() + junk, junk):
        receipt = FeedReceipt(
            vendor_id=vendor.id, transport="upload", mode=mode, basis="available", data=data
        )
        with transaction(session):
            run = receive_feed(session, receipt, now=utcnow(), hold_share=None)
        assert run.status in ("applied", "partially_applied", "rejected", "not_modified")
        if run.status != "not_modified":
            assert run.rows_applied + run.rows_rejected == run.rows_seen
