"""The dashboard and the purchase-order inbox run a fixed number of queries, however many purchase
orders, lines and variants the vendor has (no N+1): counted with a before_cursor_execute listener."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from network.extensions import db
from tests.builders import make_variant
from tests.order_helpers import place, stocked_item
from tests.portal.conftest import make_vendor_user, sign_in

# Measured: dashboard 11 (BEGIN, session user, connections, staleness limit, last snapshot, stock
# health, runs, purchase orders, their line totals, status counts, open flags), inbox 5, stock list 3.
BUDGET = {"/portal/dashboard": 11, "/portal/purchase-orders": 5, "/portal/purchase-orders?state=all": 5}


@contextmanager
def counting():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def queries(client, path: str) -> int:
    with counting() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


@pytest.fixture
def vendor(session, client, network):
    party = network.vendor
    sign_in(client, make_vendor_user(session, org_id=party.id))
    return party


def add_orders(session, network, vendor, count: int, lines: int = 2) -> None:
    items = [stocked_item(session, vendor, [network.retailer], 1000)[1] for _ in range(lines)]
    for _ in range(count):
        assert place(network.retailer, [(sku, 1) for sku in items]).status_code == 201


@pytest.mark.parametrize(
    "path", ["/portal/dashboard", "/portal/purchase-orders", "/portal/purchase-orders?state=all"]
)
def test_the_page_runs_the_same_few_queries_for_one_purchase_order_or_many(
    session, client, network, vendor, path
):
    add_orders(session, network, vendor, 1)
    few = queries(client, path)
    add_orders(session, network, vendor, 15, lines=3)
    for _ in range(20):
        make_variant(session, vendor)
    many = queries(client, path)
    assert few == many
    assert many <= BUDGET[path]


def test_the_stock_page_is_one_query_for_the_rows(session, client, vendor):
    for _ in range(3):
        make_variant(session, vendor)
    few = queries(client, "/portal/stock")
    for _ in range(30):
        make_variant(session, vendor)
    assert queries(client, "/portal/stock") == few <= 3


def test_a_purchase_order_page_does_not_grow_with_its_lines(session, client, network, vendor):
    def one_po(lines: int) -> int:
        items = [stocked_item(session, vendor, [network.retailer], 10)[1] for _ in range(lines)]
        order = place(network.retailer, [(sku, 1) for sku in items]).get_json()
        return order["purchase_orders"][0]["id"]

    small, large = one_po(1), one_po(12)
    assert queries(client, f"/portal/purchase-orders/{small}") == queries(
        client, f"/portal/purchase-orders/{large}"
    )
