"""The sharding plan of docs/scale.md, checked against the SQL the hot paths send (issue 20).

On Citus a statement that names a distributed table's distribution key (an `=`/`IN` on it, or the
column in an INSERT) goes to one shard (a router query); one that does not is sent to every shard,
or refused (a join of two tables sharded by different keys). The test records what a feed apply,
an availability read and an order placement send on PostgreSQL (SQLAlchemy's
before_cursor_execute) and finds, per path, the distributed tables touched without their key.
Those are the code changes docs/scale.md lists; the test fails when a path starts touching another
distributed table without its key, so the plan's list stays complete.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from network.extensions import db
from tests.builders import make_item, make_network, make_variant, push_json
from tests.order_helpers import place

pytestmark = pytest.mark.postgres

# docs/scale.md, "The plan": distributed tables and their distribution column. Every other table
# of these paths is a reference table (organizations, connections, access_tokens, api_clients,
# availability_settings, webhook_endpoints): small, read on every request, copied to every node.
VENDOR = "vendor_id"
RETAILER = "retailer_id"
DISTRIBUTED = {
    # by vendor: what a vendor's feed writes, and its purchase orders
    "vendor_variants": VENDOR,
    "vendor_guards": VENDOR,
    "stock_positions": VENDOR,
    "stock_snapshots": VENDOR,
    "stock_ledger": VENDOR,
    "variant_holds": VENDOR,
    "depletion_estimates": VENDOR,
    "vendor_depletion": VENDOR,
    "feeds": VENDOR,
    "feed_runs": VENDOR,
    "feed_run_payloads": VENDOR,
    "stale_sources": VENDOR,
    "purchase_orders": VENDOR,
    "purchase_order_lines": VENDOR,
    "po_transitions": VENDOR,
    # by retailer: its items, orders and flags
    "retailer_items": RETAILER,
    "item_sources": RETAILER,
    "orders": RETAILER,
    "order_lines": RETAILER,
    "flags": RETAILER,
    # by organization: the outbox and stored answers
    "events": "org_id",
    "idempotency_records": "org_id",
    "webhook_deliveries": "org_id",
}

# (path, table): distributed tables a path touches without the key today. docs/scale.md says for
# each what changes: a key column the table lacks, a statement that must name it, or a step of
# the path that reaches across tenants by design.
KNOWN_GAPS = {
    ("feed apply", "feed_runs"),  # UPDATE … WHERE id: add vendor_id to the WHERE
    ("feed apply", "feed_run_payloads"),  # no vendor_id column
    ("feed apply", "stock_positions"),  # locks and UPDATE … WHERE variant_id only
    ("feed apply", "stock_ledger"),  # no vendor_id column
    ("feed apply", "variant_holds"),  # read by variant ids
    ("feed apply", "depletion_estimates"),  # read by variant ids
    ("feed apply", "purchase_order_lines"),  # joined by id from flags and POs
    ("feed apply", "flags"),  # a vendor's flags: keyed by retailer
    ("feed apply", "item_sources"),  # which retailers sell the variants: across tenants
    ("feed apply", "retailer_items"),  # their items, locked and republished: across tenants
    ("feed apply", "vendor_variants"),  # joined from the retailers' items
    ("feed apply", "events"),  # the commit-order numbering reads max(seq) over all events
    ("availability read", "item_sources"),  # joined to the vendors' stock
    ("availability read", "vendor_variants"),
    ("availability read", "stock_positions"),
    ("availability read", "variant_holds"),
    ("order placement", "item_sources"),
    ("order placement", "vendor_variants"),
    ("order placement", "stock_positions"),
    ("order placement", "variant_holds"),
    ("order placement", "stock_ledger"),
    ("order placement", "po_transitions"),
    ("order placement", "order_lines"),  # no retailer_id column
    ("order placement", "retailer_items"),  # locked and republished by id
    ("order placement", "idempotency_records"),  # the answer stored by id
    ("order placement", "events"),
}

# "JOIN (item_sources JOIN …)": a parenthesized join names its first table after the bracket.
_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+\(?\s*(\w+)", re.IGNORECASE)
_INSERT = re.compile(r"\bINSERT INTO (\w+) \(([^)]*)\)", re.IGNORECASE)


def keyless(statement: str) -> set[str]:
    """The distributed tables a statement touches without constraining their distribution key."""
    touched = {name for name in _TABLE.findall(statement) if name in DISTRIBUTED}
    missing = set()
    for table in touched:
        key = DISTRIBUTED[table]
        inserts = [cols for name, cols in _INSERT.findall(statement) if name == table]
        named = any(key in [c.strip() for c in cols.split(",")] for cols in inserts)
        constrained = re.search(rf"\b{table}\.{key}\s*(=|IN\b)", statement, re.IGNORECASE)
        if not (named or constrained):
            missing.add(table)
    return missing


def test_the_key_check_reads_statements_as_citus_would_route_them():
    assert (
        keyless(
            "SELECT stock_positions.quantity FROM stock_positions WHERE stock_positions.vendor_id = %(v)s"
        )
        == set()
    )
    assert keyless("UPDATE stock_positions SET committed=1 WHERE stock_positions.variant_id = %(v)s") == {
        "stock_positions"
    }
    assert keyless("INSERT INTO orders (retailer_id, reference) VALUES (%(r)s, %(x)s)") == set()
    assert keyless("INSERT INTO stock_ledger (variant_id, at) VALUES (%(v)s, %(a)s)") == {"stock_ledger"}
    assert keyless("SELECT organizations.id FROM organizations WHERE organizations.id = 1") == set()
    assert keyless("SELECT 1 FROM page LEFT OUTER JOIN (item_sources JOIN x ON true) ON true") == {
        "item_sources"
    }


@contextlib.contextmanager
def recorded() -> Iterator[list[str]]:
    seen: list[str] = []

    def hook(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", hook)


def test_the_hot_paths_carry_their_distribution_keys_but_for_the_planned_changes(pg_app):
    network = make_network(db.session, pg_app.test_client(), retailers=1, vendors=2)
    first, second = network.vendors
    a, b = make_variant(db.session, first, "A"), make_variant(db.session, second, "B")
    make_item(db.session, network.retailer, [a, b], sku="ITEM")
    push_json(first, [{"sku": "A", "quantity": 5}], mode="full")
    push_json(second, [{"sku": "B", "quantity": 5}], mode="full")
    paths = {
        "feed apply": lambda: push_json(first, [{"sku": "A", "quantity": 7}], mode="full"),
        "availability read": lambda: network.retailer.api.get("/api/v1/availability?sku=ITEM"),
        "order placement": lambda: place(network.retailer, [("ITEM", 2)]),
    }
    gaps: set[tuple[str, str]] = set()
    for path, action in paths.items():
        with recorded() as statements:
            response = action()
            assert response.status_code in (200, 201), response.get_data(as_text=True)
        assert statements, path
        for statement in statements:
            gaps |= {(path, table) for table in keyless(statement)}

    assert gaps - KNOWN_GAPS == set(), "a hot path touches a distributed table without its key"
    # What the plan leans on: the writes that create a tenant's rows name their tenant.
    assert ("order placement", "orders") not in gaps
    assert ("order placement", "purchase_orders") not in gaps
    assert ("order placement", "purchase_order_lines") not in gaps
