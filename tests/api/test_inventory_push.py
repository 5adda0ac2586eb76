"""A vendor pushes stock; the retailer reads availability computed as DESIGN §5 says."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from network.availability.services import items_turning_stale
from network.catalog.models import RetailerItem
from network.clock import utcnow
from network.db import transaction
from network.partners import services as partners
from network.stock.models import StockLedgerEntry, StockPosition
from tests.builders import availability, iso, make_item, make_variant, push_csv, push_json


def test_csv_push_is_a_feed_run_and_moves_availability(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "CHAIR-1")
    sku = make_item(session, retailer, [variant])
    assert availability(retailer, sku)["available"] == 0

    response = push_csv(vendor, "sku,quantity\nCHAIR-1,7\n", mode="delta")
    assert response.status_code == 200, response.get_data(as_text=True)
    run = response.get_json()
    assert (run["status"], run["rows_seen"], run["rows_applied"], run["rows_rejected"]) == (
        "applied",
        1,
        1,
        0,
    )

    row = availability(retailer, sku)
    assert row["available"] == 7
    assert row["sources"] == [
        {
            "vendor_variant_id": variant,
            "vendor_id": vendor.id,
            "available": 7,
            "stale": False,
            "incoming": 0,
            "incoming_eta": None,
        }
    ]


def test_damaged_and_pending_inspection_never_count(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "CHAIR-2")
    sku = make_item(session, retailer, [variant])
    push_json(
        vendor, [{"sku": "CHAIR-2", "quantity": 0, "pending_inspection": 3, "damaged": 2}], mode="delta"
    )
    assert availability(retailer, sku)["available"] == 0
    position = session.get(StockPosition, variant)
    session.refresh(position)
    assert (position.pending_inspection, position.damaged) == (3, 2)


def test_bad_rows_are_rejected_one_by_one_with_line_and_reason(session, network):
    vendor = network.vendor
    make_variant(session, vendor, "A")
    make_variant(session, vendor, "B")
    body = "sku,quantity\nA,5\nB,-1\nNOPE,3\nA,2\n"
    run = push_csv(vendor, body).get_json()
    assert run["status"] == "partially_applied"
    assert run["rows_seen"] == 4
    assert run["rows_applied"] == 1
    reasons = {(e["line"], e["sku"]): e["reason"] for e in run["errors"]}
    assert set(reasons) == {(3, "B"), (4, "NOPE"), (5, "A")}
    assert "unknown sku" in reasons[(4, "NOPE")]
    detail = vendor.api.get(f"/vendor-api/v1/feed-runs/{run['id']}").get_json()
    assert detail["errors"] == run["errors"]


def test_unparseable_body_is_rejected_whole_and_changes_nothing(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "LAMP")
    sku = make_item(session, retailer, [variant])
    push_csv(vendor, "sku,quantity\nLAMP,4\n")
    response = push_csv(vendor, "item,count\nLAMP,9\n")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "required column" in response.get_json()["detail"]
    assert availability(retailer, sku)["available"] == 4
    runs = vendor.api.get("/vendor-api/v1/feed-runs").get_json()["data"]
    assert runs[0]["status"] == "rejected"


def test_invalid_encoding_is_a_4xx_not_a_500(session, network):
    vendor = network.vendor
    make_variant(session, vendor, "X")
    response = vendor.api.post(
        "/vendor-api/v1/inventory", data=b"sku,quantity\nX\xff\xfe,1\n", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422
    assert "utf-8" in response.get_json()["detail"].lower()


def test_latin1_body_is_read_when_the_charset_says_so(session, network):
    vendor = network.vendor
    make_variant(session, vendor, "CAFÉ")
    response = vendor.api.post(
        "/vendor-api/v1/inventory",
        data="sku,quantity\nCAFÉ,3\n".encode("latin-1"),
        headers={"Content-Type": "text/csv; charset=ISO-8859-1"},
    )
    assert response.get_json()["rows_applied"] == 1


def test_same_body_twice_changes_nothing_the_second_time(session, network):
    vendor = network.vendor
    variant = make_variant(session, vendor, "DUP")
    body = "sku,quantity\nDUP,5\n"
    first = push_csv(vendor, body, mode="full").get_json()
    ledger_before = session.query(StockLedgerEntry).filter_by(variant_id=variant).count()
    second = push_csv(vendor, body, mode="full").get_json()
    assert first["status"] == "applied"
    assert second["status"] == "not_modified"
    assert session.query(StockLedgerEntry).filter_by(variant_id=variant).count() == ledger_before


def test_full_feed_drops_omitted_skus_to_zero_and_delta_leaves_them(session, network):
    vendor, retailer = network.vendor, network.retailer
    a, b = make_variant(session, vendor, "FA"), make_variant(session, vendor, "FB")
    sku_a, sku_b = make_item(session, retailer, [a]), make_item(session, retailer, [b])
    push_csv(vendor, "sku,quantity\nFA,5\nFB,6\n", mode="full")
    push_csv(vendor, "sku,quantity\nFA,4\n", mode="delta")
    assert (availability(retailer, sku_a)["available"], availability(retailer, sku_b)["available"]) == (4, 6)
    push_csv(vendor, "sku,quantity\nFA,3\n", mode="full")
    assert (availability(retailer, sku_a)["available"], availability(retailer, sku_b)["available"]) == (3, 0)


def test_every_change_is_in_the_ledger_with_before_and_after(session, network):
    vendor = network.vendor
    variant = make_variant(session, vendor, "LED")
    push_csv(vendor, "sku,quantity\nLED,5\n")
    run = push_csv(vendor, "sku,quantity,damaged\nLED,8,1\n").get_json()
    entries = (
        session.query(StockLedgerEntry).filter_by(variant_id=variant).order_by(StockLedgerEntry.id).all()
    )
    assert entries[-1].changes == {"quantity": [5, 8], "damaged": [0, 1]}
    assert entries[-1].feed_run_id == run["id"]
    assert entries[-1].reason == "feed"


def test_stale_snapshot_contributes_zero_and_says_stale(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "OLD")
    sku = make_item(session, retailer, [variant])
    push_csv(vendor, "sku,quantity\nOLD,9\n", as_of=iso(utcnow() - dt.timedelta(hours=25)))
    row = availability(retailer, sku)
    assert row["available"] == 0
    assert row["sources"][0]["stale"] is True


def test_back_to_back_stale_sweeps_catch_a_count_that_reaches_its_limit_on_a_sweep(session, network):
    # A sweep at the very instant a count is 24 h old must leave it to the next sweep: it is
    # not stale yet (older than the limit, strictly), and once that sweep has run its window
    # is behind the next one's. The simulator's sweeps on a 5-minute clock met this every
    # time a silent vendor's half-hourly counts aged out, and the channels kept showing them.
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "EDGE")
    sku = make_item(session, retailer, [variant])
    as_of = utcnow().replace(microsecond=0) - dt.timedelta(hours=30)
    push_csv(vendor, "sku,quantity\nEDGE,4\n", as_of=iso(as_of))
    item_id = session.scalar(sa.select(RetailerItem.id).where(RetailerItem.retailer_sku == sku))
    at_limit = as_of + dt.timedelta(hours=24)
    sweeps = [at_limit - dt.timedelta(minutes=5), at_limit, at_limit + dt.timedelta(minutes=5)]

    found = [items_turning_stale(session, since=a, now=b) for a, b in itertools.pairwise(sweeps)]

    session.rollback()
    assert found == [[], [item_id]]


def test_older_count_never_overwrites_a_newer_one(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "ORDER")
    sku = make_item(session, retailer, [variant])
    now = utcnow()
    push_csv(vendor, "sku,quantity\nORDER,5\n", as_of=iso(now - dt.timedelta(minutes=1)))
    late = push_csv(vendor, "sku,quantity\nORDER,50\n", as_of=iso(now - dt.timedelta(minutes=30))).get_json()
    assert late["rows_applied"] == 0
    assert "superseded" in late["errors"][0]["reason"]
    assert availability(retailer, sku)["available"] == 5


def test_safety_buffer_is_per_connection_and_pool_is_shared(session, network):
    vendor = network.vendor
    first, second = network.retailers
    variant = make_variant(session, vendor, "POOL")
    sku1, sku2 = make_item(session, first, [variant]), make_item(session, second, [variant])
    push_csv(vendor, "sku,quantity\nPOOL,10\n")
    conn = next(c for c in partners.list_connections(session, org_id=second.id) if c.vendor_id == vendor.id)
    response = second.api.patch(f"/api/v1/connections/{conn.id}", json={"safety_buffer": 3})
    assert response.status_code == 200
    assert availability(first, sku1)["available"] == 10
    assert availability(second, sku2)["available"] == 7


def test_paused_connection_hides_its_stock(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "PAUSE")
    sku = make_item(session, retailer, [variant])
    push_csv(vendor, "sku,quantity\nPAUSE,10\n")
    conn = next(c for c in partners.list_connections(session, org_id=retailer.id) if c.vendor_id == vendor.id)
    retailer.api.patch(f"/api/v1/connections/{conn.id}", json={"status": "paused"})
    assert availability(retailer, sku)["available"] == 0


def test_item_sums_sources_from_two_vendors(session, network):
    v1, v2 = network.vendors
    retailer = network.retailer
    a, b = make_variant(session, v1, "TWIN"), make_variant(session, v2, "TWIN")
    sku = make_item(session, retailer, [a, b])
    push_csv(v1, "sku,quantity\nTWIN,2\n")
    push_csv(v2, "sku,quantity\nTWIN,5\n")
    assert availability(retailer, sku)["available"] == 7


def test_changes_feed_serves_each_moved_figure_once_by_cursor(session, network):
    vendor, retailer = network.vendor, network.retailer
    variant = make_variant(session, vendor, "FEED")
    sku = make_item(session, retailer, [variant])
    first = retailer.api.get("/api/v1/availability/changes").get_json()
    cursor = first["next_cursor"]
    push_csv(vendor, "sku,quantity\nFEED,3\n")
    push_csv(vendor, "sku,quantity\nFEED,3,\n")  # same figure again: nothing to publish
    push_csv(vendor, "sku,quantity\nFEED,1\n")
    page = retailer.api.get(f"/api/v1/availability/changes?cursor={cursor}").get_json()
    assert [(c["retailer_sku"], c["available"], c["previous"]) for c in page["data"]] == [
        (sku, 3, 0),
        (sku, 1, 3),
    ]
    again = retailer.api.get(f"/api/v1/availability/changes?cursor={page['next_cursor']}").get_json()
    assert again["data"] == []


def test_changes_are_only_the_retailers_own(session, network):
    vendor = network.vendor
    first, second = network.retailers
    variant = make_variant(session, vendor, "MINE")
    make_item(session, first, [variant], sku="ONLY-FIRST")
    push_csv(vendor, "sku,quantity\nMINE,3\n")
    skus = [c["retailer_sku"] for c in second.api.get("/api/v1/availability/changes").get_json()["data"]]
    assert "ONLY-FIRST" not in skus


def test_connection_patch_rejects_bad_terms_and_changes_nothing(session, network):
    retailer = network.retailer
    conn = partners.list_connections(session, org_id=retailer.id)[0]
    response = retailer.api.patch(
        f"/api/v1/connections/{conn.id}", json={"safety_buffer": -1, "color": "red"}
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"safety_buffer", "color"}
    with transaction(session):
        assert partners.get_connection(session, conn.id, org_id=retailer.id).safety_buffer == 0
