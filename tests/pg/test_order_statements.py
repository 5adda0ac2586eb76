"""On PostgreSQL an order is placed in a handful of statements (issue 19), and writes exactly the rows
and events the unit of work writes on SQLite."""

from __future__ import annotations

import itertools
import uuid

import pytest
import sqlalchemy as sa

from network.extensions import db
from tests import builders
from tests.api.test_order_answers import place_mixed_orders, written_rows
from tests.builders import make_network
from tests.conftest import make_app
from tests.order_helpers import SHIP_TO, stocked_item

pytestmark = pytest.mark.postgres


def _written(app, monkeypatch) -> dict[str, list]:  # noqa: ANN001
    monkeypatch.setattr(builders, "_seq", itertools.count(1))  # the same skus on both backends
    with app.app_context():
        network = make_network(db.session, app.test_client())
        answers = place_mixed_orders(db.session, network)
        rows = written_rows(db.session)
        db.session.remove()
        db.engine.dispose()
    return {"answers": [answer for answer, _ in answers], **rows}


def test_orders_write_the_same_rows_events_and_answers_on_both_backends(pg_app, tmp_path, monkeypatch):
    on_postgres = _written(pg_app, monkeypatch)
    on_sqlite = _written(make_app(f"sqlite:///{tmp_path / 'hub.sqlite3'}", {}), monkeypatch)

    strip = _without_times
    assert strip(on_postgres["answers"]) == strip(on_sqlite["answers"])
    for table in ("orders", "order_lines", "purchase_orders", "purchase_order_lines", "po_transitions"):
        assert on_postgres[table] == on_sqlite[table], table
    assert on_postgres["stock_ledger"] == on_sqlite["stock_ledger"]
    assert on_postgres["events"] == on_sqlite["events"]


def _without_times(value):  # noqa: ANN001, ANN202
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if not k.endswith("_at")}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


# BEGIN and COMMIT are not cursor executes: one order is these round trips + 2, and the token
# check's (api_common/oauth.py: cached in the process for its short life, so not counted here).
TOKEN_CHECK = "SELECT access_tokens"
STATEMENTS = [
    "INSERT INTO idempotency_records",  # the key's claim
    "SELECT retailer_items",  # the items, their sources, the items those feed, the retailer's model
    "WITH r AS (UPDATE stock_positions",  # reserve, ids, lock the moved items
    "WITH w_orders AS (INSERT INTO orders",  # every row and event; the moved items' sources
    "WITH published AS (UPDATE retailer_items",  # the figures that moved and their events
    "UPDATE idempotency_records",  # the answer, for repeats
    "WITH mine AS (",  # the events' commit order, and the wake-up
]


def test_one_order_is_placed_in_a_few_statements(pg_app):
    network = make_network(db.session, pg_app.test_client())
    _, sku = stocked_item(db.session, network.vendor, network.retailers, 10)
    sent: list[str] = []

    def note(_conn, _cursor, sql: str, *_args) -> None:  # noqa: ANN001
        sent.append(" ".join(sql.split()))

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        answers = []
        for _ in range(2):
            sent.clear()
            body = {"reference": "R", "lines": [{"retailer_sku": sku, "quantity": 1}], "ship_to": SHIP_TO}
            response = network.retailer.api.post(
                "/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            assert response.status_code == 201, response.get_data(as_text=True)
            answers.append(response.get_json())
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    sent = [s for s in sent if not s.startswith(TOKEN_CHECK)]
    assert [s for s in sent if not any(s.startswith(p) for p in STATEMENTS)] == []
    assert len(sent) == len(STATEMENTS), "\n".join(sent)
    assert [next(p for p in STATEMENTS if s.startswith(p)) for s in sent] == STATEMENTS
    assert answers[1]["lines"][0]["accepted"] == 1
