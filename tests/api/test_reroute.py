"""Reroute: where the retailer allows it and the vendor has not accepted the line, a doubtful line moves."""

from __future__ import annotations

import pytest

from network.flag_jobs import evaluate_flags
from tests.builders import availability, make_item, make_variant
from tests.flag_helpers import controlled_clock, count, events_of, flags_of, order_of, po_action
from tests.order_helpers import position, set_stock


@pytest.fixture
def clock(monkeypatch):
    return controlled_clock(monkeypatch)


@pytest.fixture
def two_sources(session, network):
    """An item sold from two vendors' variants: A (10 units, routed first) and B (4 units)."""
    first, second = network.vendors
    a = make_variant(session, first, "A-1")
    b = make_variant(session, second, "B-1")
    sku = make_item(session, network.retailer, [a, b])
    set_stock(session, first, a, 10)
    set_stock(session, second, b, 4)
    return {"sku": sku, "a": a, "b": b, "first": first, "second": second}


def allow_reroute(retailer, allowed: bool = True) -> None:
    response = retailer.api.patch("/api/v1/settings", json={"auto_reroute": allowed})
    assert response.status_code == 200 and response.get_json()["auto_reroute"] is allowed


def purchase_orders(vendor) -> list[dict]:
    return vendor.api.get("/vendor-api/v1/purchase-orders").get_json()["data"]


def test_reroute_is_off_until_the_retailer_turns_it_on(network):
    retailer = network.retailer
    assert retailer.api.get("/api/v1/settings").get_json()["auto_reroute"] is False
    allow_reroute(retailer)
    assert retailer.api.get("/api/v1/settings").get_json()["auto_reroute"] is True
    assert network.retailers[1].api.get("/api/v1/settings").get_json()["auto_reroute"] is False
    allow_reroute(retailer)  # the same value again changes nothing, and logs nothing
    log = retailer.api.get("/api/v1/audit-log?limit=100").get_json()["data"]
    (entry,) = [e for e in log if e["action"] == "settings.changed"]
    assert (entry["before"], entry["after"]) == ({"auto_reroute": False}, {"auto_reroute": True})


def test_a_rejected_line_moves_to_the_other_source_with_units(session, network, two_sources, clock):
    retailer, s = network.retailer, two_sources
    allow_reroute(retailer)
    placed = order_of(retailer, s["sku"], 3)
    assert placed["vendor"] == s["first"].id
    po_action(s["first"], placed["po"], "reject", {"reason": "cannot ship"})

    (moved,) = purchase_orders(s["second"])
    assert [(line["vendor_sku"], line["quantity"], line["status"]) for line in moved["lines"]] == [
        ("B-1", 3, "open")
    ]
    assert moved["order_id"] == placed["order"]
    order = retailer.api.get(f"/api/v1/orders/{placed['order']}").get_json()
    (line,) = order["lines"]
    assert [(pl["vendor_id"], pl["status"]) for pl in line["purchase_order_lines"]] == [
        (s["first"].id, "rejected"),
        (s["second"].id, "open"),
    ]
    assert line["open"] == 3
    (flag,) = flags_of(retailer)
    assert (flag["kind"], flag["resolution"]) == ("vendor_rejected", "rerouted")
    (rerouted,) = events_of(session, retailer, "order.rerouted")
    assert rerouted["to"][0]["purchase_order_id"] == moved["id"]
    assert [e["purchase_order_id"] for e in events_of(session, s["second"], "po.created")] == [moved["id"]]
    assert position(session, s["a"]).committed == 0
    assert position(session, s["b"]).committed == 3
    assert availability(retailer, s["sku"])["available"] == 10 + 1


def test_a_short_unacknowledged_line_is_released_and_moved(session, network, two_sources, clock):
    retailer, s = network.retailer, two_sources
    allow_reroute(retailer)
    placed = order_of(retailer, s["sku"], 3)
    clock.advance(minutes=1)
    count(s["first"], "A-1", 1, clock())  # A can no longer cover the line: flagged, then moved

    old = s["first"].api.get(f"/vendor-api/v1/purchase-orders/{placed['po']}").get_json()
    assert (old["status"], old["lines"][0]["cancelled"]) == ("cancelled", 3)
    (moved,) = purchase_orders(s["second"])
    assert moved["lines"][0]["quantity"] == 3
    (flag,) = flags_of(retailer)
    assert (flag["kind"], flag["resolution"]) == ("shortfall", "rerouted")
    (cancelled,) = events_of(session, s["first"], "po.cancelled")
    assert cancelled["by"] == "hub"
    assert position(session, s["a"]).committed == 0
    assert position(session, s["b"]).committed == 3


def test_an_acknowledged_line_stays_with_its_vendor(session, network, two_sources, clock):
    retailer, s = network.retailer, two_sources
    allow_reroute(retailer)
    placed = order_of(retailer, s["sku"], 3)
    po_action(s["first"], placed["po"], "acknowledge")
    po_action(s["first"], placed["po"], "cancel", {"reason": "broke it"})

    assert purchase_orders(s["second"]) == []
    (flag,) = flags_of(retailer, "open")
    assert flag["kind"] == "vendor_cancelled"
    evaluate_flags()
    assert purchase_orders(s["second"]) == []


def test_without_another_source_with_units_the_flag_stays(session, network, two_sources, clock):
    retailer, s = network.retailer, two_sources
    allow_reroute(retailer)
    placed = order_of(retailer, s["sku"], 5)  # B has only 4: nowhere to move 5 units
    po_action(s["first"], placed["po"], "reject", {"reason": "cannot ship"})

    assert purchase_orders(s["second"]) == []
    (flag,) = flags_of(retailer, "open")
    assert flag["kind"] == "vendor_rejected"
    assert position(session, s["b"]).committed == 0


def test_turning_reroute_on_moves_a_line_already_refused(session, network, two_sources, clock):
    retailer, s = network.retailer, two_sources
    placed = order_of(retailer, s["sku"], 2)
    po_action(s["first"], placed["po"], "reject", {"reason": "cannot ship"})
    assert purchase_orders(s["second"]) == []
    allow_reroute(retailer)
    evaluate_flags()
    (moved,) = purchase_orders(s["second"])
    assert moved["lines"][0]["quantity"] == 2
    assert flags_of(retailer, "open") == []


def test_settings_refuse_bad_input(network):
    retailer = network.retailer
    for body in ({"auto_reroute": "maybe"}, {"reroute": True}, [True]):
        response = retailer.api.patch("/api/v1/settings", json=body)
        assert response.status_code == 422, body
        assert response.mimetype == "application/problem+json"
    assert retailer.api.get("/api/v1/settings").get_json()["auto_reroute"] is False
