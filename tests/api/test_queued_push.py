"""Large pushes and uploads are kept and answered 202; the worker applies them as a synchronous push would."""

from __future__ import annotations

import pytest

from network.feeds.models import Feed
from network.jobs import apply_queued_feeds
from tests.builders import availability, make_item, make_variant, push_csv, push_json

# Bodies in these tests are a few hundred bytes; the threshold makes them "large".
SMALL_LIMIT = 32

CSV = "sku,quantity,damaged\nQ-1,7,1\nQ-2,3,0\nNOPE,4,0\nQ-3,-1,0\n"
ROWS = [
    {"sku": "Q-1", "quantity": 7, "damaged": 1},
    {"sku": "Q-2", "quantity": 3},
    {"sku": "NOPE", "quantity": 4},
]
OUTCOME = ("status", "mode", "basis", "rows_seen", "rows_applied", "rows_rejected", "rows_changed", "errors")


@pytest.fixture
def two_vendors(session, network):
    """Both vendors sell Q-1..Q-3, each to its own retailer item."""
    items = []
    for vendor in network.vendors:
        variants = [make_variant(session, vendor, f"Q-{n}") for n in (1, 2, 3)]
        items.append([make_item(session, network.retailer, [v]) for v in variants])
    return items


def _run(vendor, run_id: int) -> dict:
    response = vendor.api.get(f"/vendor-api/v1/feed-runs/{run_id}")
    assert response.status_code == 200
    return response.get_json()


def _figures(network, items) -> list[int]:
    return [availability(network.retailer, sku)["available"] for sku in items]


def test_large_csv_push_answers_202_then_applies_like_a_synchronous_push(app, network, two_vendors):
    queued_vendor, sync_vendor = network.vendors
    sync = push_csv(sync_vendor, CSV, mode="full")
    assert sync.status_code == 200

    app.config["HUB_ASYNC_PUSH_BYTES"] = SMALL_LIMIT
    response = push_csv(queued_vendor, CSV, mode="full")
    assert response.status_code == 202, response.get_data(as_text=True)
    run = response.get_json()
    assert response.headers["Location"].endswith(f"/vendor-api/v1/feed-runs/{run['id']}")
    assert (run["status"], run["mode"], run["rows_seen"]) == ("queued", "full", 0)
    assert _figures(network, two_vendors[0]) == [0, 0, 0]  # nothing applied yet

    applied = apply_queued_feeds()
    assert [r.id for r in applied] == [run["id"]]
    done = _run(queued_vendor, run["id"])
    assert {k: done[k] for k in OUTCOME} == {k: sync.get_json()[k] for k in OUTCOME}
    assert done["status"] == "partially_applied" and done["finished_at"] is not None
    assert _figures(network, two_vendors[0]) == _figures(network, two_vendors[1]) == [7, 3, 0]


def test_large_json_push_is_read_by_the_worker(app, network, two_vendors):
    app.config["HUB_ASYNC_PUSH_BYTES"] = SMALL_LIMIT
    response = push_json(network.vendor, ROWS, mode="full", basis="on_hand")
    assert response.status_code == 202
    run = response.get_json()
    # The web request did not read the body, so its mode is not known yet.
    assert (run["status"], run["mode"], run["basis"]) == ("queued", None, None)

    apply_queued_feeds()
    done = _run(network.vendor, run["id"])
    assert (done["status"], done["mode"], done["basis"]) == ("partially_applied", "full", "on_hand")
    assert (done["rows_seen"], done["rows_applied"]) == (3, 2)
    assert [(e["line"], e["sku"]) for e in done["errors"]] == [(3, "NOPE")]
    assert _figures(network, two_vendors[0]) == [7, 3, 0]


def test_bad_large_bodies_are_reported_on_the_run_and_change_nothing(app, network, two_vendors):
    push_csv(network.vendor, "sku,quantity\nQ-1,5\n")
    app.config["HUB_ASYNC_PUSH_BYTES"] = SMALL_LIMIT
    bad_json = network.vendor.api.post(
        "/vendor-api/v1/inventory", json={"mode": "sometimes", "rows": ROWS, "padding": "x" * 100}
    )
    unreadable_csv = push_csv(network.vendor, "item,count\n" + "Q-1,9\n" * 20)
    assert (bad_json.status_code, unreadable_csv.status_code) == (202, 202)

    apply_queued_feeds()
    json_run = _run(network.vendor, bad_json.get_json()["id"])
    assert json_run["status"] == "rejected"
    assert "mode" in json_run["message"] and "padding" in json_run["message"]
    csv_run = _run(network.vendor, unreadable_csv.get_json()["id"])
    assert csv_run["status"] == "rejected" and "required column" in csv_run["message"]
    assert _figures(network, two_vendors[0]) == [5, 0, 0]


def test_a_vendors_pushes_queue_behind_its_queued_one_and_apply_in_order(app, network, two_vendors):
    vendor, other = network.vendors
    app.config["HUB_ASYNC_PUSH_BYTES"] = SMALL_LIMIT
    first = push_csv(vendor, "sku,quantity\nQ-1,10\nQ-2,10\nQ-3,10\n", mode="full")
    app.config["HUB_ASYNC_PUSH_BYTES"] = 1024 * 1024
    # Small, but behind a queued full count: applying it now would let the older count overwrite it.
    second = push_csv(vendor, "sku,quantity\nQ-1,2\n", mode="delta")
    assert (first.status_code, second.status_code) == (202, 202)
    # Another vendor is not held up by this vendor's queue.
    assert push_csv(other, "sku,quantity\nQ-1,4\n").status_code == 200

    applied = apply_queued_feeds()
    assert [r.id for r in applied] == [first.get_json()["id"], second.get_json()["id"]]
    assert _figures(network, two_vendors[0]) == [2, 10, 10]
    # With the queue empty, small pushes are synchronous again.
    assert push_csv(vendor, "sku,quantity\nQ-2,1\n").status_code == 200


def test_large_upload_to_an_upload_feed_is_queued_too(app, session, network, two_vendors):
    created = network.vendor.api.post(
        "/vendor-api/v1/feeds",
        json={
            "name": "Excel",
            "transport": "upload",
            "mode": "delta",
            "format": {"mapping": {"sku": "Item"}},
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    feed_id = created.get_json()["id"]
    app.config["HUB_ASYNC_PUSH_BYTES"] = SMALL_LIMIT
    response = network.vendor.api.post(
        f"/vendor-api/v1/feeds/{feed_id}/upload",
        data=b"Item,quantity,note\nQ-3,8," + b"x" * 100 + b"\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 202
    apply_queued_feeds()
    done = _run(network.vendor, response.get_json()["id"])
    assert (done["status"], done["feed_id"], done["transport"]) == ("applied", feed_id, "upload")
    assert _figures(network, two_vendors[0]) == [0, 0, 8]
    feed = session.get(Feed, feed_id)
    session.refresh(feed)
    assert feed.last_success_at is not None
