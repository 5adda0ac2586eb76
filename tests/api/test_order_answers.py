"""A placed order's answer, rows and events are the same on each backend, and the 201 body is the
order exactly as GET /api/v1/orders/<id> shows it (issue 19: on PostgreSQL the order is written
by data-modifying CTEs and its 201 built without the schema; SQLite keeps the unit of work)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.extensions import db
from network.orders.models import Order, OrderLine, PurchaseOrder, PurchaseOrderLine, PurchaseOrderTransition
from network.outbox.models import Event
from network.stock.models import StockLedgerEntry
from tests.builders import Network, make_item, make_variant
from tests.order_helpers import place, set_stock, stocked_item


def place_mixed_orders(session: Session, network: Network) -> list[dict]:
    """Orders of every shape through the API: two vendors, a split line, a line accepted short (its
    `unfillable` flag in the answer), two lines on one variant, an item two retailers share.
    Returns each 201 body with the GET body of the same order."""
    retailer, other, first, second = network.retailer, network.retailers[1], *network.vendors
    chair, chair_sku = stocked_item(session, first, [retailer, other], 5)
    lamp, lamp_sku = stocked_item(session, second, [retailer], 4)
    a, b = make_variant(session, first), make_variant(session, second)
    split_sku = make_item(session, retailer, [a, b])
    set_stock(session, first, a, 2)
    set_stock(session, second, b, 3)
    orders = [
        ([(chair_sku, 2), (lamp_sku, 1)], {}),
        ([(split_sku, 4)], {}),
        ([(lamp_sku, 5)], {"allow_partial": True}),
        ([(chair_sku, 1), (chair_sku, 1)], {}),
    ]
    answers = []
    for n, (lines, extra) in enumerate(orders):
        response = place(retailer, lines, reference=f"R-{n}", **extra)
        assert response.status_code == 201, response.get_data(as_text=True)
        answers.append(response.get_json())
    response = place(other, [(chair_sku, 1)], reference="R-other")
    assert response.status_code == 201, response.get_data(as_text=True)
    answers.append(response.get_json())
    pairs = []
    for party, answer in zip([retailer] * 4 + [other], answers, strict=True):
        shown = party.api.get(f"/api/v1/orders/{answer['id']}")
        assert shown.status_code == 200
        pairs.append((answer, shown.get_json()))
    return pairs


def test_the_201_body_is_the_order_as_get_shows_it(session, network):
    pairs = place_mixed_orders(session, network)

    for answer, shown in pairs:
        assert answer == shown
    split = pairs[1][0]
    assert len(split["lines"][0]["purchase_order_lines"]) == 2 and len(split["purchase_orders"]) == 2
    short = pairs[2][0]
    assert short["status"] == "partially_accepted"
    assert [flag["kind"] for flag in short["lines"][0]["flags"]] == ["unfillable"]


_TIMES = {"created_at", "updated_at", "at", "raised_at"}


def written_rows(session: Session) -> dict[str, list]:
    """Every row the orders wrote (the reservations' ledger entries, the orders' and availability
    events), in id order, without the moments they were written at."""

    def rows(model: type, *where: sa.ColumnElement[bool]) -> list[dict]:
        table = model.__table__
        found = session.execute(sa.select(table).where(*where).order_by(table.c.id)).mappings()
        return [{k: v for k, v in row.items() if k not in _TIMES and k != "txid"} for row in found]

    events = rows(Event, Event.type.in_(["order.accepted", "po.created", "availability.changed"]))
    for event in events:
        event["data"] = {k: v for k, v in event["data"].items() if k != "updated_at"}
    return {
        "orders": rows(Order),
        "order_lines": rows(OrderLine),
        "purchase_orders": rows(PurchaseOrder),
        "purchase_order_lines": rows(PurchaseOrderLine),
        "po_transitions": rows(PurchaseOrderTransition),
        "stock_ledger": rows(StockLedgerEntry, StockLedgerEntry.reason == "reserve"),
        "events": events,
    }


def test_the_orders_rows_and_events_are_written(session, network):
    """What the write wrote, row by row: the same on both backends (the same figures are asserted
    against the answers here; tests/pg/test_order_statements.py compares the two backends)."""
    pairs = place_mixed_orders(session, network)
    written = written_rows(session)

    answers = [answer for answer, _ in pairs]
    assert [o["id"] for o in written["orders"]] == [a["id"] for a in answers]
    assert [(line["id"], line["requested"], line["accepted"]) for line in written["order_lines"]] == [
        (line["id"], line["requested"], line["accepted"]) for a in answers for line in a["lines"]
    ]
    ledger = [(row["po_line_id"], row["changes"]) for row in written["stock_ledger"]]
    po_lines = [pl for a in answers for line in a["lines"] for pl in line["purchase_order_lines"]]
    assert [po_line_id for po_line_id, _ in ledger] == sorted(pl["id"] for pl in po_lines)
    assert [(t["po_line_id"], t["quantity"], t["action"]) for t in written["po_transitions"]] == [
        (pl["id"], pl["quantity"], "create") for pl in sorted(po_lines, key=lambda pl: pl["id"])
    ]
    kinds = [
        (e["type"], e["data"].get("order_id"))
        for e in written["events"]
        if e["type"] != "availability.changed"
    ]
    expected = []
    for a in answers:
        expected.append(("order.accepted", a["id"]))
        expected += [("po.created", a["id"])] * len(a["purchase_orders"])
    assert kinds == expected
    accepted = [e["data"] for e in written["events"] if e["type"] == "order.accepted"]
    assert [e["purchase_order_ids"] for e in accepted] == [
        [po["id"] for po in a["purchase_orders"]] for a in answers
    ]
    db.session.rollback()
