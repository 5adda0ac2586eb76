"""Each flag kind raised and cleared by the real sequence of API calls, time moved by a clock the test holds."""

from __future__ import annotations

import pytest

from network.flag_jobs import evaluate_flags
from network.partners import services as partners
from tests.flag_helpers import (
    controlled_clock,
    count,
    events_of,
    flags_of,
    open_kinds,
    order_of,
    po_action,
)
from tests.order_helpers import stocked_item


@pytest.fixture
def clock(monkeypatch):
    return controlled_clock(monkeypatch)


def set_terms(session, retailer, vendor, **terms) -> None:
    conn = next(c for c in partners.list_connections(session, org_id=retailer.id) if c.vendor_id == vendor.id)
    response = retailer.api.patch(f"/api/v1/connections/{conn.id}", json=terms)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_short_count_flags_the_newest_lines_first_and_a_restored_count_clears_them(session, network, clock):
    retailer, vendor = network.retailer, network.vendor
    _, sku = stocked_item(session, vendor, [retailer], 6, sku="CHAIR")
    first, second, third = (order_of(retailer, sku, 2) for _ in range(3))

    clock.advance(minutes=1)
    count(vendor, "CHAIR", 3, clock())  # three units sold elsewhere: 6 promised, 3 left
    shorts = {flag["line_id"]: flag for flag in flags_of(retailer, "open")}
    assert set(shorts) == {second["line"], third["line"]}  # the oldest order keeps its units
    assert {flag["kind"] for flag in shorts.values()} == {"shortfall"}
    assert shorts[third["line"]]["detail"]["short"] == 2
    assert shorts[second["line"]]["detail"]["short"] == 1
    of_third = retailer.api.get(f"/api/v1/flags?order_id={third['order']}").get_json()["data"]
    assert [flag["line_id"] for flag in of_third] == [third["line"]]
    assert sorted(e["line_id"] for e in events_of(session, retailer, "order.at_risk")) == sorted(
        [second["line"], third["line"]]
    )

    clock.advance(minutes=1)
    count(vendor, "CHAIR", 5, clock())  # one unit back: only the newest order is still short
    assert open_kinds(retailer) == [("shortfall", third["line"])]
    assert flags_of(retailer, "open")[0]["detail"]["short"] == 1

    clock.advance(minutes=1)
    count(vendor, "CHAIR", 6, clock())
    assert flags_of(retailer, "open") == []
    resolved = events_of(session, retailer, "flag.resolved")
    assert sorted((e["line_id"], e["resolution"]) for e in resolved) == sorted(
        [(second["line"], "stock_restored"), (third["line"], "stock_restored")]
    )
    assert first["line"] not in {flag["line_id"] for flag in flags_of(retailer)}


def test_a_line_the_retailer_cancels_is_no_longer_short(session, network, clock):
    retailer, vendor = network.retailer, network.vendor
    _, sku = stocked_item(session, vendor, [retailer], 2, sku="LAMP")
    placed = order_of(retailer, sku, 2)
    clock.advance(minutes=1)
    count(vendor, "LAMP", 1, clock())
    assert open_kinds(retailer) == [("shortfall", placed["line"])]
    response = retailer.api.post(f"/api/v1/orders/{placed['order']}/cancel", json={})
    assert response.status_code == 200
    (flag,) = flags_of(retailer, "resolved")
    assert flag["resolution"] == "cancelled"


def test_an_unacknowledged_line_is_flagged_after_the_ack_sla_and_cleared_by_the_acknowledgement(
    session, network, clock
):
    retailer, vendor = network.retailer, network.vendor
    set_terms(session, retailer, vendor, ack_sla_hours=2)
    _, sku = stocked_item(session, vendor, [retailer], 5)
    placed = order_of(retailer, sku, 1)

    clock.advance(hours=1)
    evaluate_flags()
    assert flags_of(retailer) == []
    clock.advance(hours=2)
    evaluate_flags()
    evaluate_flags()  # a second pass raises nothing twice
    assert open_kinds(retailer) == [("ack_overdue", placed["line"])]
    assert len(events_of(session, retailer, "order.at_risk")) == 1

    po_action(vendor, placed["po"], "acknowledge")
    assert flags_of(retailer, "open") == []
    (flag,) = flags_of(retailer, "resolved")
    assert (flag["kind"], flag["resolution"]) == ("ack_overdue", "acknowledged")
    assert flag["resolved_at"] > flag["raised_at"]


def test_an_unshipped_line_is_flagged_after_the_ship_sla_and_cleared_by_the_shipment(session, network, clock):
    retailer, vendor = network.retailer, network.vendor
    set_terms(session, retailer, vendor, ack_sla_hours=2, ship_sla_hours=4)
    _, sku = stocked_item(session, vendor, [retailer], 5)
    placed = order_of(retailer, sku, 2)
    po_action(vendor, placed["po"], "acknowledge")

    clock.advance(hours=5)
    evaluate_flags()
    assert open_kinds(retailer) == [("ship_overdue", placed["line"])]

    shipment = {
        "carrier": "UPS",
        "tracking_number": "1Z9",
        "lines": [{"line_id": placed["po_line"], "quantity": 1}],
    }
    po_action(vendor, placed["po"], "shipments", shipment)
    assert open_kinds(retailer) == [("ship_overdue", placed["line"])]  # one unit still to ship
    po_action(vendor, placed["po"], "shipments", {**shipment, "tracking_number": "1Z10"})
    (flag,) = flags_of(retailer, "resolved")
    assert (flag["kind"], flag["resolution"]) == ("ship_overdue", "shipped")


def test_a_vendor_whose_feed_goes_stale_with_open_lines_is_flagged_until_a_fresh_count(
    session, network, clock
):
    retailer, vendor = network.retailer, network.vendor
    set_terms(session, retailer, vendor, stale_after_minutes=60)
    _, sku = stocked_item(session, vendor, [retailer], 5, sku="RUG")
    placed = order_of(retailer, sku, 1)

    clock.advance(minutes=30)
    evaluate_flags()
    assert flags_of(retailer) == []
    clock.advance(minutes=60)
    evaluate_flags()
    assert open_kinds(retailer) == [("stale_feed", placed["line"])]

    count(vendor, "RUG", 5, clock())  # the flag clears in the transaction that applies the count
    (flag,) = flags_of(retailer, "resolved")
    assert (flag["kind"], flag["resolution"]) == ("stale_feed", "feed_fresh")


def test_a_rejected_line_is_flagged_at_once_and_stays_until_the_retailer_dismisses_it(
    session, network, clock
):
    retailer, vendor = network.retailer, network.vendor
    _, sku = stocked_item(session, vendor, [retailer], 5)
    placed = order_of(retailer, sku, 2)
    po_action(vendor, placed["po"], "reject", {"reason": "discontinued", "reason_code": "discontinued"})

    (flag,) = flags_of(retailer, "open")
    assert (flag["kind"], flag["line_id"], flag["order_id"]) == (
        "vendor_rejected",
        placed["line"],
        placed["order"],
    )
    assert flag["detail"] == {"quantity": 2, "reason": "discontinued", "reason_code": "discontinued"}
    assert flag["lead_time_seconds"] is None  # nothing warned before the refusal
    evaluate_flags()
    assert len(flags_of(retailer, "open")) == 1  # a refusal is a fact: the clock does not clear it

    dismissed = retailer.api.post(f"/api/v1/flags/{flag['id']}/dismiss")
    assert dismissed.status_code == 200 and dismissed.get_json()["resolution"] == "dismissed"
    again = retailer.api.post(f"/api/v1/flags/{flag['id']}/dismiss")
    assert again.status_code == 409 and again.mimetype == "application/problem+json"


def test_a_vendor_cancellation_after_a_warning_records_the_lead_time(session, network, clock):
    retailer, vendor = network.retailer, network.vendor
    set_terms(session, retailer, vendor, ack_sla_hours=2)
    _, sku = stocked_item(session, vendor, [retailer], 5)
    placed = order_of(retailer, sku, 1)
    clock.advance(hours=3)
    evaluate_flags()  # ack_overdue: the retailer hears it now
    clock.advance(hours=1)
    po_action(vendor, placed["po"], "cancel", {"reason": "cannot make it"})

    flags = {flag["kind"]: flag for flag in flags_of(retailer)}
    assert set(flags) == {"ack_overdue", "vendor_cancelled"}
    assert flags["ack_overdue"]["resolution"] == "cancelled"
    assert flags["ack_overdue"]["lead_time_seconds"] == 3600
    assert flags["vendor_cancelled"]["resolved_at"] is None
    assert flags["vendor_cancelled"]["lead_time_seconds"] == 3600
    stats = retailer.api.get("/api/v1/flags/stats").get_json()
    assert stats == {
        "cancellations": 1,
        "flagged_first": 1,
        "share_flagged_first": 1.0,
        "median_lead_time_seconds": 3600.0,
    }


def test_another_retailers_flags_answer_404(session, network, clock):
    first, second = network.retailers
    vendor = network.vendor
    _, sku = stocked_item(session, vendor, [first], 5)
    placed = order_of(first, sku, 1)
    po_action(vendor, placed["po"], "reject", {"reason": "no"})
    (flag,) = flags_of(first)
    assert second.api.get(f"/api/v1/flags/{flag['id']}").status_code == 404
    assert second.api.post(f"/api/v1/flags/{flag['id']}/dismiss").status_code == 404
    assert flags_of(second) == []
    assert second.api.get(f"/api/v1/flags?order_id={placed['order']}").get_json()["data"] == []
    assert second.api.get("/api/v1/flags/stats").get_json()["cancellations"] == 0
    assert first.api.get(f"/api/v1/flags/{flag['id']}").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/flags?status=maybe",
        "/api/v1/flags?limit=0",
        "/api/v1/flags?cursor=%%%",
        "/api/v1/flags/stats?since=2020-01-01T00:00:00",
    ],
)
def test_bad_flag_queries_answer_422(network, path):
    response = network.retailer.api.get(path)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_an_unknown_reason_code_is_refused_and_changes_nothing(session, network):
    retailer, vendor = network.retailer, network.vendor
    _, sku = stocked_item(session, vendor, [retailer], 5)
    placed = order_of(retailer, sku, 1)
    response = vendor.api.post(
        f"/vendor-api/v1/purchase-orders/{placed['po']}/reject", json={"reason": "x", "reason_code": "bored"}
    )
    assert response.status_code == 422 and "reason_code" in response.get_json()["errors"]
    assert flags_of(retailer) == []
    po = vendor.api.get(f"/vendor-api/v1/purchase-orders/{placed['po']}").get_json()
    assert po["status"] == "open"


def test_the_order_itself_shows_its_at_risk_lines_until_they_clear(session, network, clock):
    retailer, vendor = network.retailer, network.vendor
    _, sku = stocked_item(session, vendor, [retailer], 4, sku="DESK")
    placed = order_of(retailer, sku, 3)

    clock.advance(minutes=1)
    count(vendor, "DESK", 1, clock())
    (line,) = retailer.api.get(f"/api/v1/orders/{placed['order']}").get_json()["lines"]
    assert [(f["kind"], f["detail"]["short"]) for f in line["flags"]] == [("shortfall", 2)]

    clock.advance(minutes=1)
    count(vendor, "DESK", 4, clock())
    (line,) = retailer.api.get(f"/api/v1/orders/{placed['order']}").get_json()["lines"]
    assert line["flags"] == []


def test_an_order_accepted_short_flags_its_missing_units_until_the_retailer_cancels_the_line(
    session, network
):
    """POST /api/v1/orders with allow_partial takes what it can: a line accepted short is flagged
    `unfillable` at once; without allow_partial the order is refused (409) and nothing is flagged."""
    retailer, vendor = network.retailer, network.vendor
    _, lamp = stocked_item(session, vendor, [retailer], 1, sku="LAMP")
    _, desk = stocked_item(session, vendor, [retailer], 5, sku="DESK")
    from tests.order_helpers import place

    assert place(retailer, [(lamp, 3)]).status_code == 409
    assert flags_of(retailer) == []

    response = place(retailer, [(lamp, 3), (desk, 2)], allow_partial=True)
    assert response.status_code == 201, response.get_data(as_text=True)
    order = response.get_json()
    short, whole = order["lines"]
    assert [(f["kind"], f["detail"]["missing"]) for f in short["flags"]] == [("unfillable", 2)]
    assert whole["flags"] == []
    (flag,) = flags_of(retailer, "open")
    assert (flag["kind"], flag["line_id"], flag["purchase_order_line_id"]) == (
        "unfillable",
        short["id"],
        None,
    )
    (event,) = events_of(session, retailer, "order.at_risk")
    assert (event["flag_id"], event["detail"]["missing"]) == (flag["id"], 2)

    # Cancelling the whole line's open unit gives up on the missing ones too; the other line is untouched.
    cancel = retailer.api.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"lines": [{"line_id": short["id"], "quantity": 1}]}
    )
    assert cancel.status_code == 200, cancel.get_data(as_text=True)
    assert [line["flags"] for line in cancel.get_json()["lines"]] == [[], []]
    (resolved,) = flags_of(retailer, "resolved")
    assert (resolved["id"], resolved["resolution"]) == (flag["id"], "cancelled")


def test_cancelling_an_order_gives_up_its_unfillable_lines_even_with_nothing_reserved_on_them(
    session, network
):
    retailer, vendor = network.retailer, network.vendor
    _, lamp = stocked_item(session, vendor, [retailer], 0, sku="LAMP")
    _, desk = stocked_item(session, vendor, [retailer], 5, sku="DESK")
    from tests.order_helpers import place

    order = place(retailer, [(lamp, 1), (desk, 1)], allow_partial=True).get_json()
    assert [f["kind"] for f in flags_of(retailer, "open")] == ["unfillable"]
    # Cancelling the other line leaves the missing lamp awaited.
    desk_line = order["lines"][1]["id"]
    other = retailer.api.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"lines": [{"line_id": desk_line, "quantity": 1}]}
    )
    assert other.status_code == 200, other.get_data(as_text=True)
    assert [f["kind"] for f in flags_of(retailer, "open")] == ["unfillable"]
    # The whole order: no unit is reserved any more, yet the missing lamp is given up.
    whole = retailer.api.post(f"/api/v1/orders/{order['id']}/cancel", json={})
    assert whole.status_code == 200, whole.get_data(as_text=True)
    assert flags_of(retailer, "open") == []
    assert [ln["flags"] for ln in whole.get_json()["lines"]] == [[], []]
    assert len(events_of(session, retailer, "flag.resolved")) == 1
