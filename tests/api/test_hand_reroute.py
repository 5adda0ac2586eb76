"""POST /api/v1/orders/{id}/lines/{line_id}/reroute: a retailer moves an unacknowledged line by hand.

The books stay exact (each position's `committed` is its live purchase-order units, recomputed
from scratch), the vendor losing the units hears it, and the move is in the audit log.
"""

from __future__ import annotations

import pytest

from tests.builders import make_item, make_org, make_variant
from tests.domain.test_inflight_stateful import brute_force_committed
from tests.flag_helpers import controlled_clock, count, events_of, flags_of, order_of, po_action
from tests.order_helpers import position, set_stock


@pytest.fixture
def clock(monkeypatch):
    return controlled_clock(monkeypatch)


@pytest.fixture
def sources(session, network):
    """An item sold from three variants: A (10 units, routed first), B (6 units), C (4 units)."""
    first, second = network.vendors
    a = make_variant(session, first, "A-1")
    b = make_variant(session, second, "B-1")
    c = make_variant(session, second, "C-1")
    sku = make_item(session, network.retailer, [a, b, c])
    set_stock(session, first, a, 10)
    set_stock(session, second, b, 6)
    set_stock(session, second, c, 4)
    return {"sku": sku, "a": a, "b": b, "c": c, "first": first, "second": second}


def reroute(retailer, order_id: int, line_id: int, body: dict | None = None):
    return retailer.api.post(f"/api/v1/orders/{order_id}/lines/{line_id}/reroute", json=body or {})


def books(session, *variants: int) -> dict[int, int]:
    """`committed` of each variant, after checking it is what the in-flight rule gives from scratch."""
    session.expire_all()
    found = {}
    for variant in variants:
        found[variant] = position(session, variant).committed
        assert found[variant] == brute_force_committed(session, variant), variant
        session.rollback()
    return found


def audit_entries(retailer, action: str) -> list[dict]:
    body = retailer.api.get("/api/v1/audit-log?limit=100").get_json()
    return [entry for entry in body["data"] if entry["action"] == action]


def test_without_a_choice_the_line_moves_to_the_best_other_source(session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 3)
    assert placed["vendor"] == s["first"].id

    answer = reroute(retailer, placed["order"], placed["line"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    (line,) = answer.get_json()["lines"]
    assert [
        (pl["vendor_variant_id"], pl["status"], pl["cancelled"]) for pl in line["purchase_order_lines"]
    ] == [
        (s["a"], "cancelled", 3),
        (s["b"], "open", 0),  # B has the most units of the other sources
    ]
    assert line["open"] == 3
    assert books(session, s["a"], s["b"], s["c"]) == {s["a"]: 0, s["b"]: 3, s["c"]: 0}

    (cancelled,) = events_of(session, s["first"], "po.cancelled")
    assert (cancelled["purchase_order_id"], cancelled["by"]) == (placed["po"], "hub")
    assert cancelled["lines"][0]["quantity"] == 3
    (created,) = events_of(session, s["second"], "po.created")
    assert created["lines"][0]["variant_id"] == s["b"]
    (rerouted,) = events_of(session, retailer, "order.rerouted")
    assert rerouted["to"][0]["vendor_variant_id"] == s["b"]

    (entry,) = audit_entries(retailer, "order_line.rerouted")
    assert entry["actor"].startswith("API client ")
    assert entry["before"] == {
        "sources": [
            {
                "purchase_order_id": placed["po"],
                "vendor_id": s["first"].id,
                "vendor_variant_id": s["a"],
                "quantity": 3,
            }
        ]
    }
    (after,) = entry["after"]["sources"]
    assert (after["vendor_id"], after["vendor_variant_id"], after["quantity"]) == (s["second"].id, s["b"], 3)


def test_the_chosen_source_gets_the_line(session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 4)
    answer = reroute(retailer, placed["order"], placed["line"], {"vendor_variant_id": s["c"]})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    (line,) = answer.get_json()["lines"]
    assert [pl["vendor_variant_id"] for pl in line["purchase_order_lines"] if pl["status"] == "open"] == [
        s["c"]
    ]
    assert books(session, s["a"], s["b"], s["c"]) == {s["a"]: 0, s["b"]: 0, s["c"]: 4}
    # Moving it back is a reroute like any other.
    assert (
        reroute(retailer, placed["order"], placed["line"], {"vendor_variant_id": s["a"]}).status_code == 200
    )
    assert books(session, s["a"], s["b"], s["c"]) == {s["a"]: 4, s["b"]: 0, s["c"]: 0}
    assert len(audit_entries(retailer, "order_line.rerouted")) == 2


def test_a_flag_the_move_answers_is_resolved_as_rerouted(session, network, sources, clock):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 3)
    clock.advance(minutes=1)
    count(s["first"], "A-1", 1, clock())  # A can no longer cover the line; auto_reroute is off
    (flag,) = flags_of(retailer, "open")
    assert flag["kind"] == "shortfall"

    assert reroute(retailer, placed["order"], placed["line"]).status_code == 200
    assert flags_of(retailer, "open") == []
    (resolved,) = flags_of(retailer)
    assert resolved["resolution"] == "rerouted"


def test_a_line_splits_across_sources_where_the_order_allows_it(session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 7)
    answer = reroute(retailer, placed["order"], placed["line"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    (line,) = answer.get_json()["lines"]
    assert sorted(
        (pl["vendor_variant_id"], pl["quantity"])
        for pl in line["purchase_order_lines"]
        if pl["status"] == "open"
    ) == [(s["b"], 6), (s["c"], 1)]
    assert books(session, s["a"], s["b"], s["c"]) == {s["a"]: 0, s["b"]: 6, s["c"]: 1}
    # Both new lines are on one purchase order of the second vendor, which hears of it once.
    (created,) = events_of(session, s["second"], "po.created")
    assert len(created["lines"]) == 2


def _unchanged(session, retailer, s, placed, committed_at_a: int) -> None:
    assert books(session, s["a"], s["b"], s["c"]) == {s["a"]: committed_at_a, s["b"]: 0, s["c"]: 0}
    assert events_of(session, s["second"], "po.created") == []
    assert audit_entries(retailer, "order_line.rerouted") == []


def test_409_when_no_source_has_the_units_and_nothing_changes(session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 7, allow_split=False)  # only A has 7; B has 6, C 4
    for body in ({}, {"vendor_variant_id": s["b"]}):
        answer = reroute(retailer, placed["order"], placed["line"], body)
        assert answer.status_code == 409, body
        assert answer.mimetype == "application/problem+json"
        assert "needs 7" in answer.get_json()["detail"]
    _unchanged(session, retailer, s, placed, 7)
    assert events_of(session, s["first"], "po.cancelled") == []


@pytest.mark.parametrize("action", ["acknowledge", "shipments"])
def test_409_for_a_line_its_vendor_accepted_or_shipped(session, network, sources, action):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 2)
    body = {}
    if action == "shipments":
        body = {
            "carrier": "UPS",
            "tracking_number": "1Z999",
            "lines": [{"line_id": placed["po_line"], "quantity": 2}],
        }
    po_action(s["first"], placed["po"], action, body)
    answer = reroute(retailer, placed["order"], placed["line"])
    assert answer.status_code == 409
    assert answer.mimetype == "application/problem+json"
    assert "no unacknowledged units" in answer.get_json()["detail"]
    committed = books(session, s["a"])[s["a"]]
    _unchanged(session, retailer, s, placed, committed)


def test_409_when_the_line_is_already_with_the_chosen_source(session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 2)
    answer = reroute(retailer, placed["order"], placed["line"], {"vendor_variant_id": s["a"]})
    assert answer.status_code == 409
    _unchanged(session, retailer, s, placed, 2)


def test_another_retailers_order_or_an_unknown_line_is_404(session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 2)
    other = network.retailers[1]
    assert reroute(other, placed["order"], placed["line"]).status_code == 404
    assert reroute(retailer, placed["order"], placed["line"] + 1000).status_code == 404
    assert reroute(retailer, placed["order"] + 1000, placed["line"]).status_code == 404
    _unchanged(session, retailer, s, placed, 2)


def test_bad_bodies_are_422_and_nothing_changes(session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 2)
    foreign = make_variant(session, network.vendor, "NOT-A-SOURCE")
    for body in (
        {"vendor_variant_id": "B-1"},
        {"vendor_variant_id": 0},
        {"vendor_variant_id": 1.5},
        {"to": s["b"]},
        [s["b"]],
        {"vendor_variant_id": foreign},
    ):
        answer = retailer.api.post(
            f"/api/v1/orders/{placed['order']}/lines/{placed['line']}/reroute", json=body
        )
        assert answer.status_code == 422, (body, answer.get_data(as_text=True))
        assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["errors"] == {"vendor_variant_id": ["not a source of this line's item"]}
    _unchanged(session, retailer, s, placed, 2)


def test_a_client_without_orders_write_is_refused(session, client, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 2)
    reader = make_org(session, client, "retailer", scopes=["orders:read"])
    assert reroute(reader, placed["order"], placed["line"]).status_code == 403
    _unchanged(session, retailer, s, placed, 2)


def test_a_hand_cancel_is_in_the_audit_log(network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 5)
    body = {"lines": [{"line_id": placed["line"], "quantity": 2}], "reason": "customer changed mind"}
    assert retailer.api.post(f"/api/v1/orders/{placed['order']}/cancel", json=body).status_code == 200
    (entry,) = audit_entries(retailer, "order_line.cancelled")
    (label,) = entry["before"]["open"]
    assert entry["before"]["open"][label] == 5
    assert entry["after"] == {"open": {label: 3}, "reason": "customer changed mind"}
