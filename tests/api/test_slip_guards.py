"""Guards against a misplaced period: a count far beyond the variant's history is held apart for the
vendor's confirmation while the rest of the feed applies; limits per vendor, with defaults."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from network.feeds.jumps import is_jump
from network.partners.guards import GuardLimits
from tests.builders import availability, make_item, make_variant, push_csv, push_json
from tests.order_helpers import position


def _stocked(session, network, counts):
    vendor = network.vendor
    ids = {sku: make_variant(session, vendor, sku) for sku in counts}
    response = push_json(vendor, [{"sku": s, "quantity": q} for s, q in counts.items()], mode="delta")
    assert response.get_json()["status"] == "applied"
    return ids


def test_a_misplaced_period_is_held_apart_and_the_rest_applies(session, network):
    vendor, retailer = network.vendor, network.retailer
    ids = _stocked(session, network, {"A": 12, "B": 5})
    sku = make_item(session, retailer, [ids["A"]])
    run = push_csv(vendor, "sku,quantity\nA,1200\nB,6\n").get_json()
    assert run["status"] == "applied" and run["rows_applied"] == 1
    assert "held for your confirmation" in run["message"] and "A: 1200" in run["message"]
    assert (position(session, ids["A"]).quantity, position(session, ids["B"]).quantity) == (12, 6)
    assert availability(retailer, sku)["available"] == 12

    runs = vendor.api.get("/vendor-api/v1/feed-runs").get_json()["data"]
    held = runs[0]
    assert (held["status"], held["hold_reason"], held["rows_seen"]) == ("held", "quantity_jump", 1)
    events = vendor.api.get("/vendor-api/v1/events?limit=1000").get_json()["data"]
    assert [e["data"]["feed_run_id"] for e in events if e["type"] == "feed.held"] == [held["id"]]

    # Sending the same file again holds nothing new.
    again = push_csv(vendor, "sku,quantity\nA,1200\nB,6\n").get_json()
    assert again["status"] == "not_modified"

    applied = vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/apply").get_json()
    assert applied["status"] == "applied"
    assert position(session, ids["A"]).quantity == 1200
    assert availability(retailer, sku)["available"] == 1200


def test_a_discarded_jump_changes_nothing(session, network):
    vendor = network.vendor
    ids = _stocked(session, network, {"A": 12})
    push_json(vendor, [{"sku": "A", "quantity": 1200}], mode="delta")
    held = vendor.api.get("/vendor-api/v1/feed-runs").get_json()["data"][0]
    assert vendor.api.post(f"/vendor-api/v1/feed-runs/{held['id']}/discard").status_code == 200
    assert position(session, ids["A"]).quantity == 12


def test_ordinary_moves_and_first_counts_are_not_held(session, network):
    vendor = network.vendor
    ids = _stocked(session, network, {"SMALL": 3, "MID": 50, "FIRST": 0})
    # 3 -> 40 is ×13 but only 37 units; 50 -> 140 is 90 units but ×2.8; a first count has no history.
    run = push_json(
        vendor,
        [
            {"sku": "SMALL", "quantity": 40},
            {"sku": "MID", "quantity": 140},
            {"sku": "FIRST", "quantity": 5000},
        ],
    ).get_json()
    assert run["status"] == "applied" and run["rows_applied"] == 3 and not run["message"]
    assert [position(session, ids[s]).quantity for s in ("SMALL", "MID", "FIRST")] == [40, 140, 5000]


def test_the_history_counts_not_only_the_current_figure(session, network):
    vendor = network.vendor
    ids = _stocked(session, network, {"A": 300})
    push_json(vendor, [{"sku": "A", "quantity": 0}])  # sold out
    run = push_json(vendor, [{"sku": "A", "quantity": 280}]).get_json()  # restocked to its usual level
    assert run["status"] == "applied" and position(session, ids["A"]).quantity == 280


def test_limits_are_per_vendor_and_validated(session, network):
    first, second = network.vendors
    assert first.api.get("/vendor-api/v1/guards").get_json() == {
        "enabled": True,
        "quantity_factor": 10,
        "quantity_floor": 100,
        "price_share": 0.5,
    }
    bad = first.api.patch("/vendor-api/v1/guards", json={"quantity_factor": 1, "price_share": -2, "x": 1})
    assert bad.status_code == 422 and {"quantity_factor", "price_share"} <= set(bad.get_json()["errors"])
    assert first.api.get("/vendor-api/v1/guards").get_json()["quantity_factor"] == 10
    changed = first.api.patch("/vendor-api/v1/guards", json={"quantity_floor": 5000})
    assert changed.status_code == 200 and changed.get_json()["quantity_floor"] == 5000
    assert second.api.get("/vendor-api/v1/guards").get_json()["quantity_floor"] == 100
    assert network.retailer.api.get("/vendor-api/v1/guards").status_code in (401, 403)
    ids = _stocked(session, network, {"A": 12})
    run = push_json(first, [{"sku": "A", "quantity": 1200}]).get_json()
    assert run["rows_applied"] == 1 and position(session, ids["A"]).quantity == 1200  # under the new floor


def test_turned_off_nothing_is_held(session, network):
    vendor = network.vendor
    vendor.api.patch("/vendor-api/v1/guards", json={"enabled": False})
    ids = _stocked(session, network, {"A": 12})
    push_json(vendor, [{"sku": "A", "quantity": 1200}])
    assert position(session, ids["A"]).quantity == 1200


@given(
    reference=st.integers(0, 10**9),
    quantity=st.integers(0, 10**10),
    factor=st.integers(2, 1000),
    floor=st.integers(0, 10**6),
)
def test_a_jump_is_both_a_multiple_and_a_margin(reference, quantity, factor, floor):
    limits = GuardLimits(quantity_factor=factor, quantity_floor=floor)
    jumped = is_jump(reference, quantity, limits)
    assert jumped == (quantity > factor * reference and quantity - reference > floor)
    if quantity <= reference:
        assert not jumped
