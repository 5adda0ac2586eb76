"""An sftp:// pull feed: a vendor's stock CSV dropped on its SFTP server is pulled like an HTTP feed
(same runs, cadence and history), the same file again is not_modified, the host key is pinned."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from network.catalog import services as catalog
from network.clock import utcnow
from network.db import transaction
from network.feeds.models import Feed, FeedRun
from network.jobs import pull_due_feeds
from tests.builders import availability, make_item

FEEDS = "/vendor-api/v1/feeds"


def test_an_sftp_feed_is_a_pull_feed_like_an_http_one(app, session, network, sshd):
    app.config.update(HUB_FEED_ALLOWED_HOSTS="127.0.0.1")
    vendor, retailer = network.vendor, network.retailer
    with transaction(session):
        variant = catalog.upsert_variant(
            session, vendor_id=vendor.id, vendor_sku="LAMP", title="Lamp", now=utcnow()
        )[0]
    sku = make_item(session, retailer, [variant.id])
    (sshd.root / "out" / "stock_0001.csv").write_text("sku,quantity\nLAMP,7\n")
    body = {
        "name": "SFTP stock",
        "transport": "pull",
        "url": f"sftp://127.0.0.1:{sshd.port}/out/stock_*.csv",
        "auth": {"kind": "ssh_key", "username": sshd.username, "private_key": sshd.private_key},
        "interval_minutes": 15,
    }
    response = vendor.api.post(FEEDS, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    feed_id = response.get_json()["id"]
    assert sshd.private_key not in response.get_data(as_text=True)
    now = utcnow()
    (run,) = pull_due_feeds(now=now)
    assert (run.status, run.transport, run.rows_applied) == ("applied", "pull", 1)
    assert availability(retailer, sku)["available"] == 7
    session.rollback()
    assert session.get(Feed, feed_id).host_key == sshd.host_key
    (again,) = pull_due_feeds(now=now + dt.timedelta(minutes=16))
    assert again.status == "not_modified"
    (sshd.root / "out" / "stock_0002.csv").write_text("sku,quantity\nLAMP,3\n")
    (newer,) = pull_due_feeds(now=now + dt.timedelta(minutes=32))
    assert newer.status == "applied" and availability(retailer, sku)["available"] == 3
    sshd.new_host_key()
    (refused,) = pull_due_feeds(now=now + dt.timedelta(minutes=48))
    assert refused.status == "failed" and "different host key" in refused.message
    session.rollback()
    assert (
        session.scalar(sa.select(sa.func.count()).select_from(FeedRun).where(FeedRun.feed_id == feed_id)) == 4
    )


def test_an_sftp_feed_url_is_checked_like_an_http_one(app, session, network):
    app.config.update(HUB_FEED_ALLOWED_HOSTS="sftp.example.com")
    vendor = network.vendor
    body = {"name": "x", "transport": "pull", "auth": {"kind": "basic", "username": "u", "password": "p"}}
    refused = vendor.api.post(FEEDS, json={**body, "url": "sftp://10.0.0.5/out/stock.csv"})
    assert refused.status_code == 422 and "url" in refused.get_json()["errors"]
    folder_only = vendor.api.post(FEEDS, json={**body, "url": "sftp://sftp.example.com/"})
    assert folder_only.status_code == 422 and "url" in folder_only.get_json()["errors"]
    bearer = vendor.api.post(
        FEEDS,
        json={**body, "url": "sftp://sftp.example.com/out/s.csv", "auth": {"kind": "bearer", "token": "t"}},
    )
    assert bearer.status_code == 422 and "auth" in bearer.get_json()["errors"]
