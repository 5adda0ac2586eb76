"""The console's Orders pages: the search, an order's page, and the operator's actions on it.

Actions are forms posted as a browser would (CSRF token from the page); roles are checked on the
server (a viewer posting directly gets 403), and another retailer's order is a 404.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from network.orders.models import Order
from tests.builders import make_item, make_variant
from tests.console.test_vendors import sign_in_as
from tests.domain.test_inflight_stateful import brute_force_committed
from tests.flag_helpers import events_of, order_of, po_action
from tests.order_helpers import place, position, set_stock
from tests.portal.conftest import csrf_of, fresh, submit
from tests.portal.test_query_counts import counting


@pytest.fixture
def sources(session, network):
    """An item sold from two vendors' variants: A (10 units, routed first) and B (6 units)."""
    first, second = network.vendors
    a = make_variant(session, first, "A-1")
    b = make_variant(session, second, "B-1")
    sku = make_item(session, network.retailer, [a, b])
    set_stock(session, first, a, 10)
    set_stock(session, second, b, 6)
    return {"sku": sku, "a": a, "b": b, "first": first, "second": second}


def html_of(response) -> str:
    return response.get_data(as_text=True)


def references(html: str) -> list[str]:
    return re.findall(r'<a href="/console/orders/\d+">([^<]+)</a>', html)


def ship(vendor, placed: dict, quantity: int, carrier: str = "UPS", number: str = "1Z999AA10123456784"):
    body = {
        "carrier": carrier,
        "tracking_number": number,
        "lines": [{"line_id": placed["po_line"], "quantity": quantity}],
    }
    return po_action(vendor, placed["po"], "shipments", body)


# --- the search ------------------------------------------------------------------------------


def test_the_nav_links_to_orders_and_the_search_finds_by_reference_prefix(client, session, network, sources):
    retailer = network.retailer
    for reference in ("ACME-1", "ACME-2", "ZED-1"):
        order_of(retailer, sources["sku"], 1, reference=reference)
    sign_in_as(client, session, retailer.id, "viewer")

    home = html_of(client.get("/console"))
    assert '<a href="/console/orders"' in home
    everything = html_of(client.get("/console/orders"))
    assert references(everything) == ["ZED-1", "ACME-2", "ACME-1"]  # newest first
    assert references(html_of(client.get("/console/orders?reference=ACME"))) == ["ACME-2", "ACME-1"]
    assert references(html_of(client.get("/console/orders?reference=acme-"))) == ["ACME-2", "ACME-1"]
    # A reference is text, not a pattern.
    assert references(html_of(client.get("/console/orders?reference=%25"))) == []
    assert references(html_of(client.get("/console/orders?reference=ACME_"))) == []


def test_the_search_filters_by_status_and_date(client, session, network, sources):
    retailer, s = network.retailer, sources
    shipped = order_of(retailer, s["sku"], 1, reference="SHIPPED")
    order_of(retailer, s["sku"], 1, reference="OPEN")
    old = order_of(retailer, s["sku"], 1, reference="OLD")
    ship(s["first"], shipped, 1)
    fresh(session)
    session.execute(
        sa.update(Order)
        .where(Order.id == old["order"])
        .values(created_at=dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC))
    )
    session.commit()
    sign_in_as(client, session, retailer.id, "viewer")

    assert references(html_of(client.get("/console/orders?status=shipped"))) == ["SHIPPED"]
    assert references(html_of(client.get("/console/orders?status=open"))) == ["OLD", "OPEN"]
    assert references(html_of(client.get("/console/orders?from=2025-03-01&to=2025-03-01"))) == ["OLD"]
    assert references(html_of(client.get("/console/orders?to=2025-02-28"))) == []
    recent = references(html_of(client.get("/console/orders?from=2025-03-02")))
    assert recent == ["OPEN", "SHIPPED"]
    assert references(html_of(client.get("/console/orders?status=open&from=2025-03-02"))) == ["OPEN"]
    # What cannot be read is said, and the page still answers.
    bad = client.get("/console/orders?from=yesterday&status=lost")
    assert bad.status_code == 200
    assert "not a date" in html_of(bad) and "Unknown status" in html_of(bad)
    assert len(references(html_of(bad))) == 3


def test_pages_follow_each_other_newest_first_with_the_search_kept(
    client, session, network, sources, monkeypatch
):
    import console.orders

    monkeypatch.setattr(console.orders, "PAGE_SIZE", 2)
    retailer = network.retailer
    for n in range(5):
        order_of(retailer, sources["sku"], 1, reference=f"P-{n}")
    order_of(retailer, sources["sku"], 1, reference="OTHER")
    sign_in_as(client, session, retailer.id, "viewer")

    seen, path = [], "/console/orders?reference=P-"
    while path:
        html = html_of(client.get(path))
        seen += references(html)
        found = re.search(r'<a class="next" href="([^"]+)"', html)
        path = found.group(1).replace("&amp;", "&") if found else None
        if path:
            assert "reference=P-" in path
    assert seen == ["P-4", "P-3", "P-2", "P-1", "P-0"]


def test_a_page_of_the_search_costs_the_same_few_queries_however_many_orders(
    client, session, network, sources
):
    retailer = network.retailer
    order_of(retailer, sources["sku"], 1)
    sign_in_as(client, session, retailer.id, "viewer")

    def queries(path: str) -> int:
        with counting() as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    paths = ["/console/orders", "/console/orders?status=open&reference=R&from=2020-01-01"]
    few = [queries(path) for path in paths]
    other = make_variant(session, sources["second"], "C-1")
    second_sku = make_item(session, retailer, [other])
    set_stock(session, sources["second"], other, 100)
    for _ in range(12):
        assert place(retailer, [(sources["sku"], 1), (second_sku, 2)]).status_code == 201
    many = [queries(path) for path in paths]
    assert few == many
    # BEGIN, the session's user, the orders, their line totals, their purchase orders.
    assert max(many) <= 5


# --- an order's page ---------------------------------------------------------------------------


def test_the_order_page_shows_lines_purchase_orders_history_shipments_with_tracking_flags_returns(
    client, session, network, sources
):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 3, reference="PAGE-1")
    po_action(s["first"], placed["po"], "acknowledge")
    ship(s["first"], placed, 2, carrier="UPS", number="1Z999AA10123456784")
    ship(s["first"], placed, 1, carrier="Bob's Van", number="BV-7")
    opened = retailer.api.post(
        f"/api/v1/orders/{placed['order']}/returns",
        json={"lines": [{"line_id": placed["line"], "quantity": 1}], "reason": "too small"},
    )
    assert opened.status_code == 201
    cancelled = order_of(retailer, s["sku"], 2, reference="PAGE-2")
    po_action(s["first"], cancelled["po"], "cancel", {"reason": "broke it"})  # raises a flag
    sign_in_as(client, session, retailer.id, "viewer")

    html = html_of(client.get(f"/console/orders/{placed['order']}"))
    assert "Order PAGE-1" in html and s["sku"] in html and "A-1" in html and s["first"].name in html
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html
    assert "<code>BV-7</code>" in html  # an unknown carrier: the number without a link
    assert "acknowledge" in html and "ship" in html  # the purchase order's history
    assert "too small" in html  # the return
    assert "Your role (viewer) may look but not change orders." in html

    other = html_of(client.get(f"/console/orders/{cancelled['order']}"))
    assert "vendor_cancelled" in other and "broke it" in other


def test_another_retailers_order_is_not_found_for_every_page_and_action(client, session, network, sources):
    placed = order_of(network.retailer, sources["sku"], 2)
    sign_in_as(client, session, network.retailers[1].id, "owner")
    assert client.get(f"/console/orders/{placed['order']}").status_code == 404
    assert references(html_of(client.get("/console/orders"))) == []
    token = csrf_of(html_of(client.get("/console/orders")))
    for action, data in (
        ("cancel", {"line_id": placed["line"], "quantity": "1"}),
        ("returns", {"line_id": placed["line"], "quantity": "1", "reason": "x"}),
        (f"lines/{placed['line']}/reroute", {"vendor_variant_id": ""}),
    ):
        answer = client.post(
            f"/console/orders/{placed['order']}/{action}", data={"csrf_token": token, **data}
        )
        assert answer.status_code == 404, action
    assert position(session, sources["a"]).committed == 2


# --- actions -----------------------------------------------------------------------------------


def test_an_operator_reroutes_a_line_by_hand_to_a_source_with_the_units(client, session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 4)
    sign_in_as(client, session, retailer.id, "operator")
    page = f"/console/orders/{placed['order']}"
    html = html_of(client.get(page))
    assert f'<option value="{s["b"]}">{s["second"].name} · B-1 — 6 available</option>' in html

    moved = submit(
        client, f"{page}/lines/{placed['line']}/reroute", {"vendor_variant_id": str(s["b"])}, page=page
    )
    assert moved.status_code == 302 and moved.headers["Location"] == page
    after = html_of(client.get(page))
    assert "Line moved" in after
    fresh(session)
    assert (position(session, s["a"]).committed, position(session, s["b"]).committed) == (0, 4)
    for variant in (s["a"], s["b"]):
        assert position(session, variant).committed == brute_force_committed(session, variant)
        session.rollback()
    (cancelled,) = events_of(session, s["first"], "po.cancelled")
    assert cancelled["purchase_order_id"] == placed["po"]
    (entry,) = [
        e
        for e in retailer.api.get("/api/v1/audit-log").get_json()["data"]
        if e["action"] == "order_line.rerouted"
    ]
    assert entry["actor"].startswith("user operator")
    assert entry["before"]["sources"][0]["vendor_variant_id"] == s["a"]
    assert entry["after"]["sources"][0]["vendor_variant_id"] == s["b"]
    assert "order_line.rerouted" in html_of(client.get("/console/audit-log"))


def test_a_reroute_no_source_can_take_is_refused_on_the_page_and_nothing_changes(
    client, session, network, sources
):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 8)  # B has only 6
    sign_in_as(client, session, retailer.id, "operator")
    page = f"/console/orders/{placed['order']}"
    refused = submit(
        client, f"{page}/lines/{placed['line']}/reroute", {"vendor_variant_id": str(s["b"])}, page=page
    )
    assert refused.status_code == 409
    assert "has 6 units available" in html_of(refused)
    bad = submit(client, f"{page}/lines/{placed['line']}/reroute", {"vendor_variant_id": "B-1"}, page=page)
    assert bad.status_code == 422
    assert (position(session, s["a"]).committed, position(session, s["b"]).committed) == (8, 0)
    assert events_of(session, s["second"], "po.created") == []


def test_an_operator_cancels_units_and_the_audit_log_says_so(client, session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 5)
    sign_in_as(client, session, retailer.id, "operator")
    page = f"/console/orders/{placed['order']}"
    done = submit(
        client,
        f"{page}/cancel",
        {"line_id": str(placed["line"]), "quantity": "2", "reason": "customer"},
        page=page,
    )
    assert done.status_code == 302
    assert position(session, s["a"]).committed == 3
    entry = retailer.api.get("/api/v1/audit-log").get_json()["data"][-1]
    assert entry["action"] == "order_line.cancelled" and entry["actor"].startswith("user operator")
    assert list(entry["before"]["open"].values()) == [5] and list(entry["after"]["open"].values()) == [3]

    for data in (
        {"line_id": str(placed["line"]), "quantity": "many"},
        {"line_id": str(placed["line"]), "quantity": "9"},
    ):
        refused = submit(client, f"{page}/cancel", data, page=page)
        assert refused.status_code in (409, 422), data
        assert 'role="alert"' in html_of(refused)
    assert position(session, s["a"]).committed == 3

    everything = submit(client, f"{page}/cancel", {}, page=page)
    assert everything.status_code == 302
    assert position(session, s["a"]).committed == 0


def test_an_operator_opens_a_return_for_shipped_units(client, session, network, sources):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 3)
    ship(s["first"], placed, 3)
    sign_in_as(client, session, retailer.id, "operator")
    page = f"/console/orders/{placed['order']}"
    assert "Open a return" in html_of(client.get(page))
    missing = submit(client, f"{page}/returns", {"line_id": str(placed["line"]), "quantity": "1"}, page=page)
    assert missing.status_code == 422 and "A reason is required" in html_of(missing)
    done = submit(
        client,
        f"{page}/returns",
        {"line_id": str(placed["line"]), "quantity": "2", "reason": "wrong size"},
        page=page,
    )
    assert done.status_code == 302
    (opened,) = events_of(session, s["first"], "return.opened")
    assert opened["quantity"] == 2
    assert "wrong size" in html_of(client.get(page))


def test_a_viewer_sees_no_actions_and_posting_them_directly_is_403_with_nothing_changed(
    client, session, network, sources
):
    retailer, s = network.retailer, sources
    placed = order_of(retailer, s["sku"], 3)
    shipped = order_of(retailer, s["sku"], 1)
    ship(s["first"], shipped, 1)
    sign_in_as(client, session, retailer.id, "viewer")
    page = f"/console/orders/{placed['order']}"
    html = html_of(client.get(page))
    assert "Move the line" not in html and "Cancel the units" not in html
    token = csrf_of(html)  # the sign-out form's token
    for path, data in (
        (f"{page}/cancel", {"line_id": placed["line"], "quantity": "1"}),
        (f"{page}/cancel", {}),
        (f"{page}/lines/{placed['line']}/reroute", {"vendor_variant_id": str(s["b"])}),
        (
            f"/console/orders/{shipped['order']}/returns",
            {"line_id": shipped["line"], "quantity": "1", "reason": "x"},
        ),
    ):
        answer = client.post(path, data={"csrf_token": token, **data})
        assert answer.status_code == 403, path
    assert (position(session, s["a"]).committed, position(session, s["b"]).committed) == (4, 0)
    assert events_of(session, s["first"], "po.cancelled") == []
    assert events_of(session, s["first"], "return.opened") == []
    log = retailer.api.get("/api/v1/audit-log?limit=100").get_json()["data"]
    assert [e["action"] for e in log if e["action"].startswith("order_line.")] == []  # setup maps items


def test_a_form_without_its_csrf_token_changes_nothing(client, session, network, sources):
    placed = order_of(network.retailer, sources["sku"], 3)
    sign_in_as(client, session, network.retailer.id, "owner")
    answer = client.post(f"/console/orders/{placed['order']}/cancel", data={})
    assert answer.status_code == 400
    assert position(session, sources["a"]).committed == 3


def test_an_order_page_costs_the_same_queries_with_one_line_or_many(client, session, network, sources):
    retailer, s = network.retailer, sources

    def order_with(lines: int) -> int:
        skus = []
        for _ in range(lines):
            a = make_variant(session, s["first"])
            b = make_variant(session, s["second"])
            skus.append(make_item(session, retailer, [a, b]))
            set_stock(session, s["first"], a, 5)
            set_stock(session, s["second"], b, 5)
        answer = place(retailer, [(sku, 2) for sku in skus])
        assert answer.status_code == 201
        order = answer.get_json()
        po = order["purchase_orders"][0]
        po_action(s["first"], po["id"], "acknowledge")
        body = {
            "carrier": "UPS",
            "tracking_number": "1Z1",
            "lines": [{"line_id": po["line_ids"][0], "quantity": 1}],
        }
        po_action(s["first"], po["id"], "shipments", body)
        return order["id"]

    small, large = order_with(1), order_with(6)
    sign_in_as(client, session, retailer.id, "operator")

    def queries(order_id: int) -> int:
        with counting() as statements:
            assert client.get(f"/console/orders/{order_id}").status_code == 200
        return len(statements)

    assert queries(small) == queries(large)
