"""`GET /api/v1/vendors/scorecards` on a small history driven through the real APIs, figures worked out by hand."""

from __future__ import annotations

import pytest

from tests.flag_helpers import controlled_clock, order_of, po_action
from tests.order_helpers import stocked_item


@pytest.fixture
def clock(monkeypatch):
    return controlled_clock(monkeypatch)


def cards(retailer, days: int | None = None) -> dict[int, dict]:
    query = f"?days={days}" if days is not None else ""
    response = retailer.api.get(f"/api/v1/vendors/scorecards{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {card["vendor_id"]: card for card in response.get_json()["data"]}


def test_scorecard_figures_of_a_vendor_that_ships_one_order_cancels_one_and_acknowledges_one_late(
    session, network, clock
):
    retailer, other = network.retailers
    vendor, idle = network.vendors
    _, sku = stocked_item(session, vendor, [retailer, other], 100)
    on_time = order_of(retailer, sku, 4)
    refused = order_of(retailer, sku, 2)
    late = order_of(retailer, sku, 4)
    order_of(other, sku, 3)  # another retailer's order never counts in this retailer's scorecard

    clock.advance(hours=2)
    po_action(vendor, on_time["po"], "acknowledge")
    clock.advance(hours=10)
    shipment = {
        "carrier": "UPS",
        "tracking_number": "1Z",
        "lines": [{"line_id": on_time["po_line"], "quantity": 4}],
    }
    po_action(vendor, on_time["po"], "shipments", shipment)
    po_action(vendor, refused["po"], "cancel", {"reason": "cannot make it"})
    clock.advance(hours=18)
    po_action(vendor, late["po"], "acknowledge")  # 30 h after placement, against a 24 h SLA

    card = cards(retailer)[vendor.id]
    assert card["days"] == 30 and card["lines"] == 3
    assert (card["units_ordered"], card["units_shipped"]) == (10, 4)
    assert card["fill_rate"] == pytest.approx(0.4)  # 4 shipped of 10 ordered
    assert card["cancel_rate"] == pytest.approx(0.2)  # the vendor cancelled 2 of 10
    # Acknowledged: one at 2 h (on time), one at 30 h (late); the cancelled line is not counted.
    assert card["on_time_ack"] == pytest.approx(0.5)
    assert card["median_ack_hours"] == pytest.approx(16, abs=0.01)
    # Only the shipped line is due yet (72 h SLA): it left at 12 h.
    assert card["on_time_ship"] == pytest.approx(1.0)
    assert card["median_ship_hours"] == pytest.approx(12, abs=0.01)
    assert card["flagged_first"] == 0.0  # one cancellation, no warning came before it
    assert card["feed_freshness"] == 30 * 60  # the only count came at placement, 30 h ago
    assert (card["ack_sla_hours"], card["ship_sla_hours"]) == (24, 72)

    # A connected vendor with nothing ordered has no figures rather than zeros.
    empty = cards(retailer)[idle.id]
    assert empty["lines"] == 0
    assert [empty[k] for k in ("fill_rate", "cancel_rate", "on_time_ack", "median_ship_hours")] == [None] * 4

    # The window: with one day, the orders placed 30 h ago fall out.
    assert cards(retailer, days=1)[vendor.id]["lines"] == 0
    assert cards(other)[vendor.id]["units_ordered"] == 3


@pytest.mark.parametrize("days", ["0", "366", "x"])
def test_a_window_out_of_range_is_a_clear_400(network, days):
    response = network.retailer.api.get(f"/api/v1/vendors/scorecards?days={days}")
    assert response.status_code in (400, 422)
    assert response.headers["Content-Type"].startswith("application/problem+json")
