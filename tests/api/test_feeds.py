"""Vendors configure feeds, preview files, upload them, and confirm or discard held ones."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from network.clock import utcnow
from network.feeds.models import Feed
from network.outbox.models import Event
from network.stock.models import StockLedgerEntry, StockPosition
from tests.builders import availability, make_item, make_variant, push_csv

FEEDS = "/vendor-api/v1/feeds"


def create_feed(vendor, **body):
    body.setdefault("name", "Main feed")
    body.setdefault("transport", "upload")
    response = vendor.api.post(FEEDS, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def upload(vendor, feed_id: int, text: str, content_type: str = "text/csv"):
    return vendor.api.post(
        f"{FEEDS}/{feed_id}/upload", data=text.encode(), headers={"Content-Type": content_type}
    )


def quantity(session, variant_id: int) -> int:
    position = session.get(StockPosition, variant_id)
    session.refresh(position)
    return position.quantity


def events_of(session, org_id: int, kind: str) -> list[dict]:
    session.rollback()
    return [
        e.data
        for e in session.scalars(
            sa.select(Event).where(Event.org_id == org_id, Event.type == kind).order_by(Event.id)
        )
    ]


# --- configuration --------------------------------------------------------------------------------


def test_a_pull_feed_is_configured_and_its_credentials_are_never_shown(session, network):
    vendor = network.vendor
    feed = create_feed(
        vendor,
        name="Nightly export",
        transport="pull",
        url="https://feeds.example.com/stock.csv?key=abc",
        auth={"kind": "basic", "username": "hub", "password": "s3cret-pass"},
        interval_minutes=15,
        format={"kind": "csv", "delimiter": ";", "mapping": {"sku": "Item Number", "quantity": "QTY AVAIL"}},
        mode="full",
        basis="on_hand",
    )

    assert feed["auth_kind"] == "basic" and feed["has_credentials"] is True
    assert feed["format"]["mapping"] == {"sku": "Item Number", "quantity": "QTY AVAIL"}
    assert (feed["interval_minutes"], feed["mode"], feed["basis"]) == (15, "full", "on_hand")
    shown = vendor.api.get(f"{FEEDS}/{feed['id']}").get_data(as_text=True)
    listed = vendor.api.get(FEEDS).get_data(as_text=True)
    assert "s3cret-pass" not in shown + listed
    stored = session.get(Feed, feed["id"])
    assert "s3cret-pass" not in stored.auth_sealed  # encrypted at rest


def test_feed_settings_can_be_changed_one_at_a_time(network):
    vendor = network.vendor
    feed = create_feed(vendor, format={"mapping": {"quantity": "Qty"}})

    response = vendor.api.patch(f"{FEEDS}/{feed['id']}", json={"format": {"delimiter": "|"}, "mode": "delta"})

    assert response.status_code == 200, response.get_data(as_text=True)
    changed = response.get_json()
    assert changed["format"]["delimiter"] == "|"
    assert changed["format"]["mapping"] == {"quantity": "Qty"}  # untouched settings stay
    assert changed["mode"] == "delta"


def test_settings_that_cannot_work_are_refused_with_the_field_and_nothing_is_saved(session, network):
    vendor = network.vendor
    cases = [
        ({"transport": "pull"}, "url"),
        ({"transport": "pull", "url": "ftp://example.com/feed.csv"}, "url"),
        ({"transport": "pull", "url": "https://user:pw@example.com/f.csv"}, "url"),
        ({"transport": "pull", "url": "https://example.com/f", "auth": {"kind": "bearer"}}, "auth.token"),
        (
            {
                "transport": "pull",
                "url": "https://e.com/f",
                "auth": {"kind": "header", "name": "Host", "value": "x"},
            },
            "auth.name",
        ),
        ({"transport": "upload", "format": {"kind": "x12", "mapping": {"quantity": "QTY"}}}, "format"),
        ({"transport": "upload", "format": {"encoding": "klingon"}}, "format"),
        ({"transport": "carrier-pigeon"}, "transport"),
        ({"transport": "upload", "interval_minutes": 0}, "interval_minutes"),
    ]
    for body, field in cases:
        response = vendor.api.post(FEEDS, json={"name": "x", **body})
        assert response.status_code == 422, (body, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], (body, response.get_json())
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Feed)) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/f.csv",
        "http://localhost:8080/f.csv",
        "http://feeds.localhost/f.csv",
        "http://[::1]/f.csv",
        "http://2130706433/f.csv",
        "http://127.1/f.csv",
        "http://0x7f.0.0.1/f.csv",
        "http://10.0.0.5/f.csv",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/f.csv",
    ],
)
def test_a_pull_url_on_the_hubs_own_network_is_refused_when_saved(app, session, network, url):
    response = network.vendor.api.post(FEEDS, json={"name": "x", "transport": "pull", "url": url})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "non-public address" in response.get_json()["errors"]["url"][0]
    upload = network.vendor.api.post(FEEDS, json={"name": "y", "transport": "upload"}).get_json()
    changed = network.vendor.api.patch(f"{FEEDS}/{upload['id']}", json={"transport": "pull", "url": url})
    assert changed.status_code == 422
    session.rollback()
    assert session.scalar(sa.select(Feed.transport)) == "upload"
    app.config["HUB_FEED_ALLOW_PRIVATE"] = True  # development
    allowed = network.vendor.api.post(FEEDS, json={"name": "x", "transport": "pull", "url": url})
    assert allowed.status_code == 201


def test_another_vendors_feed_answers_404(network):
    mine = create_feed(network.vendors[0])
    other = network.vendors[1]

    assert other.api.get(f"{FEEDS}/{mine['id']}").status_code == 404
    assert other.api.patch(f"{FEEDS}/{mine['id']}", json={"name": "mine now"}).status_code == 404
    assert other.api.delete(f"{FEEDS}/{mine['id']}").status_code == 404
    assert upload(other, mine["id"], "sku,quantity\n").status_code == 404
    assert other.api.get(FEEDS).get_json()["data"] == []


def test_a_deleted_feed_is_gone_and_its_runs_stay(session, network):
    vendor = network.vendor
    make_variant(session, vendor, "KEEP")
    feed = create_feed(vendor, mode="delta")
    run = upload(vendor, feed["id"], "sku,quantity\nKEEP,3\n").get_json()

    assert vendor.api.delete(f"{FEEDS}/{feed['id']}").status_code == 204

    assert vendor.api.get(f"{FEEDS}/{feed['id']}").status_code == 404
    assert vendor.api.get(f"/vendor-api/v1/feed-runs/{run['id']}").get_json()["status"] == "applied"


# --- uploads and the column mapping ------------------------------------------------------------


def test_an_upload_is_read_with_the_feeds_own_headers(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "DESK-1")
    sku = make_item(session, retailer, [variant])
    feed = create_feed(
        vendor,
        mode="delta",
        format={
            "delimiter": ";",
            "mapping": {"sku": "Item Number", "quantity": "QTY AVAIL", "damaged": "Damaged"},
        },
    )

    response = upload(vendor, feed["id"], "Item Number;QTY AVAIL;Damaged\nDESK-1;12;2\n")

    assert response.status_code == 200, response.get_data(as_text=True)
    run = response.get_json()
    assert (run["status"], run["transport"], run["feed_id"]) == ("applied", "upload", feed["id"])
    assert availability(retailer, sku)["available"] == 12
    position = session.get(StockPosition, variant)
    session.refresh(position)
    assert position.damaged == 2


def test_latin1_and_bom_uploads_are_read_as_configured(session, network):
    vendor = network.vendor
    variant = make_variant(session, vendor, "CAFÉ-1")
    latin = create_feed(vendor, mode="delta", format={"encoding": "latin-1"})
    utf8 = create_feed(vendor, mode="delta")

    assert upload(vendor, latin["id"], "").status_code == 422  # empty body: nothing happens
    first = vendor.api.post(
        f"{FEEDS}/{latin['id']}/upload",
        data="sku,quantity\nCAFÉ-1,4\n".encode("latin-1"),
        headers={"Content-Type": "text/csv"},
    ).get_json()
    second = vendor.api.post(
        f"{FEEDS}/{utf8['id']}/upload",
        data="\ufeffsku,quantity\nCAFÉ-1,6\n".encode(),
        headers={"Content-Type": "text/csv"},
    ).get_json()

    assert (first["rows_applied"], second["rows_applied"]) == (1, 1)
    assert quantity(session, variant) == 6


def test_a_json_upload_holding_an_array_under_a_key_is_read(session, network):
    vendor = network.vendor
    variant = make_variant(session, vendor, "J-1")
    feed = create_feed(
        vendor, mode="delta", format={"kind": "json", "mapping": {"sku": "itemNo", "quantity": "available"}}
    )

    run = upload(
        vendor,
        feed["id"],
        '{"generated": "today", "items": [{"itemNo": "J-1", "available": 8}]}',
        "application/json",
    )

    assert run.get_json()["status"] == "applied"
    assert quantity(session, variant) == 8


def test_an_unreadable_upload_is_refused_and_changes_nothing(session, network):
    vendor = network.vendor
    variant = make_variant(session, vendor, "U-1")
    feed = create_feed(vendor, mode="delta")
    upload(vendor, feed["id"], "sku,quantity\nU-1,5\n")

    response = upload(vendor, feed["id"], "item,count\nU-1,9\n")

    assert response.status_code == 422
    assert "required column" in response.get_json()["detail"]
    assert quantity(session, variant) == 5


def test_files_are_uploaded_to_upload_feeds_only(network):
    pull = create_feed(network.vendor, transport="pull", url="https://feeds.example.com/f.csv")

    response = upload(network.vendor, pull["id"], "sku,quantity\n")

    assert response.status_code == 409


def test_changing_the_mapping_rereads_the_same_file(session, network):
    vendor = network.vendor
    variant = make_variant(session, vendor, "M-1")
    feed = create_feed(vendor, mode="delta", format={"mapping": {"quantity": "reserved"}})
    text = "sku,reserved,free\nM-1,1,7\n"
    assert upload(vendor, feed["id"], text).get_json()["status"] == "applied"

    vendor.api.patch(f"{FEEDS}/{feed['id']}", json={"format": {"mapping": {"quantity": "free"}}})
    again = upload(vendor, feed["id"], text).get_json()

    assert again["status"] == "applied"
    assert quantity(session, variant) == 7


# --- preview ---------------------------------------------------------------------------------------


def test_preview_shows_what_would_change_and_applies_nothing(session, network):
    vendor = network.vendor
    a, b = make_variant(session, vendor, "P-A"), make_variant(session, vendor, "P-B")
    feed = create_feed(
        vendor, mode="full", format={"mapping": {"sku": "Item Number", "quantity": "QTY AVAIL"}}
    )
    upload(vendor, feed["id"], "Item Number,QTY AVAIL\nP-A,5\nP-B,3\n")
    ledger = session.scalar(sa.select(sa.func.count()).select_from(StockLedgerEntry))

    response = vendor.api.post(
        f"{FEEDS}/{feed['id']}/preview",
        data=b"Item Number,QTY AVAIL\nP-A,9\nNOPE,1\nP-A,2\n",
        headers={"Content-Type": "text/csv"},
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    preview = response.get_json()
    assert (preview["rows_seen"], preview["rows_valid"], preview["rows_rejected"]) == (3, 1, 2)
    assert preview["changes"] == [
        {"sku": "P-A", "before": {"quantity": 5}, "after": {"quantity": 9}},
        {"sku": "P-B", "before": {"quantity": 3}, "after": {"quantity": 0}},
    ]
    assert {e["sku"] for e in preview["errors"]} == {"NOPE", "P-A"}
    assert (preview["would_zero"], preview["positive_before"], preview["held"]) == (1, 2, False)
    assert (quantity(session, a), quantity(session, b)) == (5, 3)
    assert session.scalar(sa.select(sa.func.count()).select_from(StockLedgerEntry)) == ledger
    runs = vendor.api.get("/vendor-api/v1/feed-runs").get_json()["data"]
    assert len(runs) == 1  # the preview recorded no run


def test_preview_warns_when_the_file_would_be_held(session, network):
    vendor = network.vendor
    for i in range(4):
        make_variant(session, vendor, f"W{i}")
    feed = create_feed(vendor, mode="full")
    upload(vendor, feed["id"], "sku,quantity\nW0,1\nW1,1\nW2,1\nW3,1\n")

    preview = vendor.api.post(f"{FEEDS}/{feed['id']}/preview", data=b"sku,quantity\nW0,1\n").get_json()

    assert preview["held"] is True and preview["hold_reason"] == "mass_zero"


def test_preview_of_an_unreadable_sample_is_a_422(session, network):
    feed = create_feed(network.vendor, format={"kind": "json"})

    response = network.vendor.api.post(f"{FEEDS}/{feed['id']}/preview", data=b"{not json")

    assert response.status_code == 422
    assert "not valid JSON" in response.get_json()["detail"]


def test_preview_without_a_sample_needs_a_pull_feed(network):
    feed = create_feed(network.vendor)

    response = network.vendor.api.post(f"{FEEDS}/{feed['id']}/preview")

    assert response.status_code == 422
    assert "_body" in response.get_json()["errors"]


# --- the broken-export guard ------------------------------------------------------------------------


def test_a_truncated_export_is_held_and_applied_once_confirmed(session, network):
    vendor, retailer = network.vendor, network.retailer
    variants = [make_variant(session, vendor, f"T{i}") for i in range(10)]
    sku = make_item(session, retailer, [variants[9]])
    feed = create_feed(vendor, mode="full")
    whole = "sku,quantity\n" + "".join(f"T{i},10\n" for i in range(10))
    assert upload(vendor, feed["id"], whole).get_json()["status"] == "applied"

    # The export job died after three rows: the file parses, and would zero seven SKUs.
    truncated = "sku,quantity\n" + "".join(f"T{i},10\n" for i in range(3))
    held = upload(vendor, feed["id"], truncated).get_json()

    assert held["status"] == "held" and held["hold_reason"] == "mass_zero"
    assert "7 of the 10 SKUs" in held["message"]
    assert held["rows_applied"] == 0
    assert availability(retailer, sku)["available"] == 10  # nothing applied
    (told,) = events_of(session, vendor.id, "feed.held")
    assert told["feed_run_id"] == held["id"] and told["hold_reason"] == "mass_zero"
    # Sending the same broken file again does not hold (and notify) a second time.
    assert upload(vendor, feed["id"], truncated).get_json()["status"] == "not_modified"

    applied = vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/apply")

    assert applied.status_code == 200, applied.get_data(as_text=True)
    run = applied.get_json()
    assert (run["status"], run["rows_applied"], run["hold_reason"]) == ("applied", 3, "mass_zero")
    assert run["resolved_at"] is not None
    assert availability(retailer, sku)["available"] == 0
    assert [quantity(session, v) for v in variants] == [10, 10, 10] + [0] * 7
    assert vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/apply").status_code == 409
    # Overriding the guard is on the vendor's audit log, with the reason it was held.
    (entry,) = audit_entries(vendor, "feed_run.applied")
    assert entry["subject"] == f"feed run {held['id']}" and entry["actor"].startswith("API client ")
    assert entry["before"] == {"status": "held", "reason": held["message"]}
    assert entry["after"] == {"status": "applied"}


def audit_entries(party, action: str) -> list[dict]:
    response = party.api.get("/vendor-api/v1/audit-log?limit=100")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [entry for entry in response.get_json()["data"] if entry["action"] == action]


def test_a_file_half_the_usual_size_is_held_and_can_be_discarded(session, network):
    vendor = network.vendor
    variants = [make_variant(session, vendor, f"H{i}") for i in range(10)]
    feed = create_feed(vendor, mode="full")
    upload(vendor, feed["id"], "sku,quantity\n" + "".join(f"H{i},0\n" for i in range(10)))

    held = upload(vendor, feed["id"], "sku,quantity\nH0,0\nH1,0\nH2,0\nH3,0\n").get_json()
    assert (held["status"], held["hold_reason"]) == ("held", "shrunk")

    discarded = vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/discard")

    assert discarded.status_code == 200
    assert discarded.get_json()["status"] == "discarded"
    assert vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/apply").status_code == 409
    assert all(quantity(session, v) == 0 for v in variants)
    (entry,) = audit_entries(vendor, "feed_run.discarded")
    assert (entry["before"]["status"], entry["after"]) == ("held", {"status": "discarded"})
    assert audit_entries(vendor, "feed_run.applied") == []


def test_a_held_run_superseded_by_a_newer_count_cannot_be_applied(session, network):
    vendor = network.vendor
    variants = [make_variant(session, vendor, f"S{i}") for i in range(4)]
    feed = create_feed(vendor, mode="full")
    upload(vendor, feed["id"], "sku,quantity\nS0,5\nS1,5\nS2,5\nS3,5\n")
    held = upload(vendor, feed["id"], "sku,quantity\nS0,5\n").get_json()
    assert held["status"] == "held"
    assert (
        upload(vendor, feed["id"], "sku,quantity\nS0,4\nS1,4\nS2,4\nS3,4\n").get_json()["status"] == "applied"
    )

    response = vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/apply")

    assert response.status_code == 409
    assert "superseded" in response.get_json()["detail"]
    assert [quantity(session, v) for v in variants] == [4, 4, 4, 4]


def test_only_held_runs_can_be_applied_or_discarded_and_only_by_their_vendor(session, network):
    vendor, other = network.vendors
    make_variant(session, vendor, "O-1")
    applied = push_csv(vendor, "sku,quantity\nO-1,1\n").get_json()

    assert vendor.api.post(f"/vendor-api/v1/feed-runs/{applied['id']}/discard").status_code == 409
    assert other.api.post(f"/vendor-api/v1/feed-runs/{applied['id']}/apply").status_code == 404


def test_a_pushed_full_feed_is_guarded_too(session, network):
    vendor = network.vendor
    for i in range(3):
        make_variant(session, vendor, f"PU{i}")
    push_csv(vendor, "sku,quantity\nPU0,2\nPU1,2\nPU2,2\n", mode="full")

    held = push_csv(vendor, "sku,quantity\nPU0,2\n", mode="full").get_json()

    assert held["status"] == "held"
    assert vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/apply").get_json()["status"] == "applied"


def test_the_hold_share_is_a_setting(session, network, app):
    vendor = network.vendor
    for i in range(4):
        make_variant(session, vendor, f"HS{i}")
    push_csv(vendor, "sku,quantity\nHS0,2\nHS1,2\nHS2,2\nHS3,2\n", mode="full")
    app.config["HUB_FEED_HOLD_SHARE"] = 0.9

    run = push_csv(vendor, "sku,quantity\nHS0,2\nHS1,2\n", mode="full").get_json()

    assert run["status"] == "applied"


def test_feed_runs_keep_their_timing_and_counts(network, session):
    vendor = network.vendor
    make_variant(session, vendor, "TM")
    feed = create_feed(vendor, mode="delta")
    before = utcnow() - dt.timedelta(seconds=1)

    run = upload(vendor, feed["id"], "sku,quantity\nTM,1\nTM,2\n").get_json()

    assert (run["rows_seen"], run["rows_applied"], run["rows_rejected"]) == (2, 1, 1)
    assert run["errors"] == [{"line": 3, "sku": "TM", "reason": "duplicate SKU 'TM': first seen on line 2"}]
    assert dt.datetime.fromisoformat(run["received_at"]) >= before
    assert run["duration_ms"] >= 0
