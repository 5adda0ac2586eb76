"""Property tests on the APIs' edges: any JSON body and any query string on any write.

For every write operation of both APIs (found in the URL map, so a new one is covered without
a change here), hypothesis sends arbitrary JSON (deep, huge integers, NUL and bidi characters,
field names the schemas know) and arbitrary query strings: never a 5xx, and a refused request
leaves every table as it was.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.app import create_app
from network.extensions import db
from tests.builders import make_variant
from tests.order_helpers import SHIP_TO, place, stocked_item

# Examples per operation and database, to fit CI: the file takes about 2 CPU minutes for both.
EXAMPLES = {"sqlite": 30, "postgres": 15}
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# What a refused request may still write, by design: a feed file that cannot be read at all is
# kept as a `rejected` run in the vendor's history (with its payload, and the feed's last run
# time). Only such runs may appear; nothing else may change.
MAY_CHANGE = {"feed_runs", "feed_run_payloads"}
IGNORED_COLUMNS = {("feeds", "last_run_at")}
# Field and parameter names the schemas read, so that examples reach past "unknown field".
NAMES = [
    "sku", "quantity", "damaged", "pending_inspection", "incoming", "rows", "mode", "basis", "as_of",
    "title", "gtin", "cost", "msrp", "sources", "vendor_variant_id", "priority", "reference", "lines",
    "retailer_sku", "line_id", "ship_to", "allow_partial", "reason", "reason_code", "name", "transport",
    "url", "format", "mapping", "auth", "kind", "token", "interval_minutes", "events", "status", "email",
    "carrier", "tracking_number", "resellable", "limit", "cursor", "order_id", "delimiter", "charset",
    "safety_buffer", "ack_sla_hours", "vendor_name", "active", "attributes", "description",
]  # fmt: skip
_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _write_operations() -> list[tuple[str, str]]:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "PUBLIC_URL": "http://x"}
    )
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/vendor-api/")):
            found.update((method, rule.rule) for method in rule.methods & set(WRITES))
    return sorted(found, key=lambda op: (op[1], op[0]))


texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])
    | st.sampled_from("\x00\u202e\u200b\t\r\n"),
    max_size=20,
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**31, -(2**31) - 1, 2**63, 10**30, 0, -1, 1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
    | st.sampled_from(NAMES)
)
keys = st.sampled_from(NAMES) | texts
bodies = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=20,
)
# A valid body per operation: half the examples are one of these with a few values replaced by
# arbitrary ones, so that they reach the rules behind the schema, not only "unknown field".
VALID = {
    ("PUT", "/vendor-api/v1/variants/<string:vendor_sku>"): {"title": "Lamp", "gtin": None, "cost": "9.50"},
    ("PUT", "/api/v1/items/<string:retailer_sku>"): {"title": "x", "sources": [{"vendor_variant_id": 1, "priority": 0}]},
    ("POST", "/api/v1/orders"): {"reference": "R-1", "lines": [{"retailer_sku": "PROP-1", "quantity": 1}], "ship_to": SHIP_TO},
    ("POST", "/api/v1/orders/<int:order_id>/returns"): {"lines": [{"line_id": 1, "quantity": 1}], "reason": "x"},
    ("POST", "/api/v1/orders/<int:order_id>/cancel"): {"lines": [{"line_id": 1, "quantity": 1}]},
    ("POST", "/vendor-api/v1/inventory"): {"mode": "delta", "rows": [{"sku": "PROP-1", "quantity": 3, "damaged": 0}]},
    ("POST", "/vendor-api/v1/feeds"): {"name": "n", "transport": "upload", "format": {"mapping": {"sku": "Item"}}},
    ("PATCH", "/vendor-api/v1/feeds/<int:feed_id>"): {"name": "n2", "mode": "full"},
    ("POST", "/api/v1/webhook-endpoints"): {"url": "https://example.com/hook", "events": ["*"]},
    ("POST", "/api/v1/vendor-invites"): {"email": "a@b.example", "vendor_name": "V", "terms": {"safety_buffer": 1}},
    ("PATCH", "/api/v1/connections/<int:connection_id>"): {"safety_buffer": 1, "status": "active"},
    ("PATCH", "/api/v1/settings"): {"auto_reroute": True, "availability_model": "predictive", "cancellation_cost": 50, "margin_share": 0.3},
    ("POST", "/vendor-api/v1/purchase-orders/<int:po_id>/reject"): {"reason": "x", "reason_code": "other"},
    ("POST", "/vendor-api/v1/purchase-orders/<int:po_id>/cancel"): {"reason": "x", "reason_code": "other"},
    ("POST", "/vendor-api/v1/purchase-orders/<int:po_id>/shipments"): {
        "carrier": "DHL", "tracking_number": "1", "lines": [{"line_id": 1, "quantity": 1}]
    },
}  # fmt: skip


def _slots(value: object) -> list[tuple[object, object]]:
    """Every (container, key) of a JSON value whose value a mutation may replace, or add."""
    found: list[tuple[object, object]] = []
    if isinstance(value, dict):
        found.append((value, "extra"))
        for key, inner in value.items():
            found.append((value, key))
            found.extend(_slots(inner))
    elif isinstance(value, list):
        found.extend((value, index) for index in range(len(value)))
        for inner in value:
            found.extend(_slots(inner))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict) -> object:
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(_slots(body)))
        container[key] = draw(bodies)
    return body


queries = st.dictionaries(
    keys, texts | st.integers().map(str) | st.sampled_from(["2147483648", "full", "delta", "-1"]), max_size=4
)


@pytest.fixture
def world(session, network):
    """Something behind each id 1: a variant on hand, an item, an order with its purchase order, a feed."""
    variant, sku = stocked_item(session, network.vendor, network.retailers, 50, sku="PROP-1")
    make_variant(session, network.vendor, "PROP-2")
    assert place(network.retailer, [(sku, 1)]).status_code == 201
    feed = network.vendor.api.post("/vendor-api/v1/feeds", json={"name": "prop", "transport": "upload"})
    assert feed.status_code == 201
    return network


def _state() -> dict[str, str]:
    """A digest of each table's rows (but MAY_CHANGE), read outside the requests' sessions."""
    state = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name not in MAY_CHANGE:
                columns = [c for c in table.columns if (table.name, c.name) not in IGNORED_COLUMNS]
                rows = conn.execute(sa.select(*columns)).all()
                state[table.name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            elif table.name == "feed_runs":
                statuses = conn.execute(sa.select(table.c.id, table.c.status)).all()
                state[table.name] = repr(sorted(row for row in statuses if row.status != "rejected"))
    return state


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def _path(template: str) -> str:
    return _PARAM.sub(lambda m: "1" if m.group(1) == "int" else "PROP-1", template)


def _exchange(party, method: str, path: str, body: object, query: dict, state: dict) -> None:
    """Send one request; no 5xx, and a refusal (problem+json) leaves the database as it was."""
    response = party.api._call(
        method,
        f"{path}?{urlencode(query)}" if query else path,
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code < 500, (body, response.status_code, response.get_data(as_text=True)[:500])
    after = _state()
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json", response.get_data(as_text=True)[:200]
        changed = _changed(state["now"], after)
        assert not changed, f"a refused {method} {path} ({response.status_code}) changed {changed}: {body!r}"
    state["now"] = after


@pytest.mark.parametrize(("method", "template"), _write_operations())
def test_any_json_body_and_query_never_fails_the_server_and_a_refusal_changes_nothing(
    backend, world, method, template
):
    party = world.vendor if template.startswith("/vendor-api/") else world.retailer
    path = _path(template)
    state = {"now": _state()}  # what the database holds between examples
    valid = VALID.get((method, template))

    @settings(
        max_examples=EXAMPLES[backend],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies if valid is None else bodies | mutated(valid), query=queries)
    def check(body, query) -> None:
        _exchange(party, method, path, body, query, state)

    check()


# The values that once reached the database and failed there (issue 12), and their neighbours.
HOSTILE = ["A\x00B", "\u202eevil", 2**31, -(2**63) - 1, "x" * 5000, [[[[]]]]]


@pytest.mark.parametrize(("method", "template"), sorted(VALID))
def test_each_value_of_a_valid_body_replaced_by_a_hostile_one_is_refused_cleanly(world, method, template):
    party = world.vendor if template.startswith("/vendor-api/") else world.retailer
    path = _path(template)
    state = {"now": _state()}
    for index in range(len(_slots(VALID[(method, template)]))):
        for value in HOSTILE:
            body = copy.deepcopy(VALID[(method, template)])
            container, key = _slots(body)[index]
            container[key] = value
            _exchange(party, method, path, body, {}, state)
