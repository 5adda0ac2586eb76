"""Oversell memory: a vendor out of stock it had reported is held at zero network-wide until it is right again."""

from __future__ import annotations

import datetime as dt

import pytest

from network.flag_jobs import evaluate_flags
from tests.builders import availability, make_org
from tests.flag_helpers import controlled_clock, count, events_of, flags_of, iso, order_of, po_action
from tests.order_helpers import place, stocked_item


@pytest.fixture
def clock(monkeypatch):
    return controlled_clock(monkeypatch)


@pytest.fixture
def oversold(app, session, network, clock):
    """Both retailers sell a variant of 5 units; the vendor refuses a unit of it as out of stock."""
    app.config["HUB_OVERSELL_HOLD_HOURS"] = 2
    vendor = network.vendor
    variant, sku = stocked_item(session, vendor, network.retailers, 5, sku="SOFA")
    placed = order_of(network.retailer, sku, 1)
    clock.advance(minutes=1)
    po_action(vendor, placed["po"], "reject", {"reason": "none left", "reason_code": "out_of_stock"})
    return {"variant": variant, "sku": sku, "placed": placed, "vendor": vendor, "refused_at": clock()}


def holds_of(party, path: str, status: str | None = None) -> list[dict]:
    response = party.api.get(f"{path}?status={status}" if status else path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["data"]


def test_refusing_units_the_hub_had_on_record_holds_the_variant_everywhere(session, network, oversold):
    for retailer in network.retailers:
        assert availability(retailer, oversold["sku"])["available"] == 0
    (hold,) = holds_of(oversold["vendor"], "/vendor-api/v1/holds", "active")
    assert (hold["vendor_variant_id"], hold["vendor_sku"], hold["active"]) == (
        oversold["variant"],
        "SOFA",
        True,
    )
    assert hold["detail"] == {"reason": "none left", "quantity_on_record": 5}
    (told,) = events_of(session, oversold["vendor"], "hold.placed")
    assert told["vendor_sku"] == "SOFA"
    refused = place(network.retailers[1], [(oversold["sku"], 1)])
    assert refused.status_code == 409  # the router never chooses a held variant
    assert [h["id"] for h in holds_of(network.retailers[1], "/api/v1/holds")] == [hold["id"]]


def test_the_hold_ends_when_its_time_runs_out(session, network, oversold, clock):
    clock.advance(hours=1)
    evaluate_flags()
    assert availability(network.retailer, oversold["sku"])["available"] == 0
    clock.advance(hours=1, minutes=1)
    assert availability(network.retailer, oversold["sku"])["available"] == 5  # the read stops counting it
    evaluate_flags()  # and the job records the end and publishes the figure
    (hold,) = holds_of(oversold["vendor"], "/vendor-api/v1/holds", "lifted")
    assert (hold["lifted_by"], hold["active"]) == ("expired", False)
    changes = events_of(session, network.retailers[1], "availability.changed")
    assert changes[-1]["available"] == 5
    assert place(network.retailers[1], [(oversold["sku"], 1)]).status_code == 201


def test_a_count_taken_after_the_hold_lifts_it(network, oversold, clock):
    clock.advance(minutes=5)
    count(oversold["vendor"], "SOFA", 3, clock())
    assert holds_of(oversold["vendor"], "/vendor-api/v1/holds", "active") == []
    (hold,) = holds_of(oversold["vendor"], "/vendor-api/v1/holds", "lifted")
    assert hold["lifted_by"] == "snapshot"
    assert availability(network.retailers[1], oversold["sku"])["available"] == 3


def test_a_late_count_taken_before_the_hold_does_not_lift_it(network, oversold, clock):
    clock.advance(minutes=5)
    count(oversold["vendor"], "SOFA", 5, oversold["refused_at"] - dt.timedelta(seconds=10))
    assert len(holds_of(oversold["vendor"], "/vendor-api/v1/holds", "active")) == 1
    assert availability(network.retailer, oversold["sku"])["available"] == 0


def test_the_vendor_lifts_its_hold(network, oversold):
    vendor = oversold["vendor"]
    response = vendor.api.delete(f"/vendor-api/v1/holds/{oversold['variant']}")
    assert response.status_code == 200
    assert (response.get_json()["active"], response.get_json()["lifted_by"]) == (False, "vendor")
    assert availability(network.retailer, oversold["sku"])["available"] == 5
    assert vendor.api.delete(f"/vendor-api/v1/holds/{oversold['variant']}").status_code == 404
    # Who vouched for the stock again is on the vendor's audit log (once: the second lift found none).
    log = vendor.api.get("/vendor-api/v1/audit-log?limit=100").get_json()["data"]
    (entry,) = [e for e in log if e["action"] == "hold.lifted"]
    assert entry["subject"] == "variant SOFA" and entry["actor"].startswith("API client ")
    assert (entry["before"]["held"], entry["before"]["reason"], entry["after"]) == (
        True,
        "oversell",
        {"held": False},
    )


def test_a_retailer_cannot_lift_a_hold_that_protects_the_vendors_other_retailers(network, oversold):
    retailer = network.retailers[1]
    (hold,) = holds_of(retailer, "/api/v1/holds", "active")
    response = retailer.api.delete(f"/api/v1/holds/{hold['id']}")
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert "only the vendor lifts it" in response.get_json()["detail"]
    assert len(holds_of(oversold["vendor"], "/vendor-api/v1/holds", "active")) == 1
    for other in network.retailers:
        assert availability(other, oversold["sku"])["available"] == 0


def test_a_retailer_sees_the_vendors_reason_only_for_its_own_order(network, oversold):
    (own,) = holds_of(network.retailers[0], "/api/v1/holds")
    assert own["detail"] == {"reason": "none left", "quantity_on_record": 5}
    (other,) = holds_of(network.retailers[1], "/api/v1/holds")
    assert other["id"] == own["id"]
    assert other["detail"] == {"quantity_on_record": 5}
    assert "none left" not in str(other)


def test_holds_are_seen_and_lifted_only_by_the_vendor_and_retailers_of_the_variant(
    session, client, network, oversold
):
    (hold,) = holds_of(oversold["vendor"], "/vendor-api/v1/holds")
    other_vendor = network.vendors[1]
    assert holds_of(other_vendor, "/vendor-api/v1/holds") == []
    assert other_vendor.api.delete(f"/vendor-api/v1/holds/{oversold['variant']}").status_code == 404
    stranger = make_org(session, client, "retailer")
    assert holds_of(stranger, "/api/v1/holds") == []
    assert stranger.api.delete(f"/api/v1/holds/{hold['id']}").status_code == 404
    assert len(holds_of(oversold["vendor"], "/vendor-api/v1/holds", "active")) == 1


def test_no_hold_when_the_hub_already_showed_none(session, network, clock):
    vendor, retailer = network.vendor, network.retailer
    _, sku = stocked_item(session, vendor, [retailer], 1, sku="STOOL")
    placed = order_of(retailer, sku, 1)
    clock.advance(minutes=1)
    count(vendor, "STOOL", 0, clock())  # the vendor's count already says it: the line is flagged short
    assert [flag["kind"] for flag in flags_of(retailer, "open")] == ["shortfall"]
    po_action(vendor, placed["po"], "reject", {"reason": "none", "reason_code": "out_of_stock"})
    assert holds_of(vendor, "/vendor-api/v1/holds") == []
    kinds = {flag["kind"]: flag for flag in flags_of(retailer)}
    assert kinds["vendor_rejected"]["lead_time_seconds"] is not None  # the shortfall came first


def test_no_hold_for_a_refusal_that_is_not_about_stock(session, network):
    vendor, retailer = network.vendor, network.retailer
    _, sku = stocked_item(session, vendor, [retailer], 5)
    placed = order_of(retailer, sku, 1)
    po_action(vendor, placed["po"], "cancel", {"reason": "address", "reason_code": "address"})
    assert holds_of(vendor, "/vendor-api/v1/holds") == []
    assert availability(retailer, sku)["available"] == 5


@pytest.mark.parametrize(
    "query", ["?status=gone", "?limit=5000", f"?cursor={iso(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))}"]
)
def test_bad_hold_queries_answer_422(network, query):
    assert network.retailer.api.get(f"/api/v1/holds{query}").status_code == 422
    assert network.vendor.api.get(f"/vendor-api/v1/holds{query}").status_code == 422
