"""Schemathesis against both APIs, in process: the OpenAPI document the hub serves is what it does.

Every operation of /api/v1/openapi.json gets generated requests (schema-valid and invalid ones)
with real bearer tokens of its side, on a seeded network, on SQLite and on PostgreSQL when
configured. Checks: no 5xx, every response (status, content type, headers, body) as documented,
and no schema-valid request refused with a 4xx other than 401/403/404/409. Bounded for CI and
derandomized (the same examples on every run), so a failure reproduces.
"""

from __future__ import annotations

import uuid

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as st_checks

from network.extensions import db
from tests import builders
from tests.conftest import BACKENDS, PG_URL, make_app
from tests.order_helpers import SHIP_TO, stocked_item

CHECKS = [
    not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
    st_checks.positive_data_acceptance,
]
# Examples per operation and mode: about 60 operations × 2 modes × 2 backends stay near a minute.
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4}
REJECTED = "Schema-valid request rejected"
# What a schema cannot judge: whether a resource a body names exists and is the caller's to use,
# whether a URL's host is one the hub may reach, a GTIN's check digit, which fields a feed's
# mapping may name for its kind. A schema-valid request refused for exactly these fields (a 422
# naming only them) is the API doing its job; any other refusal of one fails this test.
BEYOND_SCHEMA = {
    "PUT /api/v1/items/{retailer_sku}": {"sources", "gtin"},
    "POST /api/v1/orders": {"lines.retailer_sku"},
    "POST /api/v1/orders/{order_id}/lines/{line_id}/reroute": {"vendor_variant_id"},
    # ...whether a line id a body names is a line of that order.
    "POST /api/v1/orders/{order_id}/cancel": {"lines"},
    "POST /api/v1/orders/{order_id}/returns": {"lines"},
    "POST /api/v1/webhook-endpoints": {"url"},
    "PATCH /api/v1/webhook-endpoints/{endpoint_id}": {"url"},
    "POST /vendor-api/v1/webhook-endpoints": {"url"},
    "PATCH /vendor-api/v1/webhook-endpoints/{endpoint_id}": {"url"},
    # ...and which settings a transport takes (credentials only for pull feeds).
    "POST /vendor-api/v1/feeds": {"url", "format", "auth"},
    "PATCH /vendor-api/v1/feeds/{feed_id}": {"url", "format", "auth"},
    "PUT /vendor-api/v1/variants/{vendor_sku}": {"gtin"},
    # A storefront's URL (reachable, public) and the credentials its platform takes.
    "POST /api/v1/connectors": {"shop_url", "credentials", "credentials.*"},
    "PATCH /api/v1/connectors/{connector_id}": {"shop_url", "credentials", "credentials.*"},
    # The EDI setup's transport: which credentials a transport needs, and whether its host is one
    # the hub may reach (not yet one shape per transport in the document); separators that must
    # differ from each other.
    "PUT /vendor-api/v1/edi": {"transport.*", "separators"},
}
# Where a body is a stock file: text can match its documented type and still not be one (no
# `sku` column); the answer is then the documented 422 "Feed rejected" with its feed run.
FILES = {
    "POST /vendor-api/v1/inventory",
    "POST /vendor-api/v1/feeds/{feed_id}/upload",
    "POST /vendor-api/v1/feeds/{feed_id}/preview",
}


@pytest.fixture(scope="module", params=BACKENDS)
def hub(request, tmp_path_factory):
    """One seeded hub per backend for the whole module, as a deployed server would be."""
    if request.param == "postgres":
        admin = request.getfixturevalue("pg_admin_engine")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        app = make_app(PG_URL, {"connect_args": {"options": f"-csearch_path={schema}"}})
    else:
        app = make_app(f"sqlite:///{tmp_path_factory.mktemp('st') / 'hub.sqlite3'}", {})
    with app.app_context():
        network = _seed(app)
        yield app, network
        db.session.remove()
        db.engine.dispose()
    if request.param == "postgres":
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def _seed(app) -> builders.Network:
    """Two retailers, two vendors, stocked items, an order, a feed: ids the generator may hit."""
    client = app.test_client()
    network = builders.make_network(db.session, client)
    retailers = network.retailers
    for n in range(3):
        stocked_item(db.session, network.vendor, retailers, 50, sku=f"ST-{n}")
    variant_id, sku = stocked_item(db.session, network.vendors[1], retailers, 5, sku="ST-B")
    order = network.retailer.api.post(
        "/api/v1/orders",
        json={"reference": "st-1", "lines": [{"retailer_sku": sku, "quantity": 1}], "ship_to": SHIP_TO},
        headers={"Idempotency-Key": "st-1"},
    )
    assert order.status_code == 201, order.get_data(as_text=True)
    feed = network.vendor.api.post("/vendor-api/v1/feeds", json={"name": "ST", "transport": "upload"})
    assert feed.status_code == 201, feed.get_data(as_text=True)
    return network


def test_every_operation_does_what_the_document_says(hub):
    app, network = hub
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # No text holds NUL (U+0000), as the document's description says: the edge refuses it.
    schema.config.generation.update(allow_x00=False)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        party = network.vendor if operation.path.startswith("/vendor-api/") else network.retailer
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _exercise(operation, mode, dict(party.api.headers))
    assert not failures, f"{len(failures)} operations break the document:\n" + "\n\n".join(failures)


def _beyond_the_schema(label: str, response) -> bool:
    """Tell whether a refused schema-valid request was refused for what no schema can say."""
    if response.status_code != 422:
        return False
    problem = response.json()
    if problem.get("title") == "Feed rejected":
        return label in FILES
    fields = set(_paths(problem.get("errors") or {}))
    allowed = BEYOND_SCHEMA.get(label, set())
    return bool(fields) and all(
        field in allowed or any(a.endswith(".*") and field.startswith(a[:-1]) for a in allowed)
        for field in fields
    )


def _paths(errors: dict, parents: tuple[str, ...] = ()) -> list[str]:
    """Field paths of a problem's `errors`, list positions left out: lines.0.sku -> lines.sku."""
    paths = []
    for key, value in errors.items():
        here = parents if key.isdigit() else (*parents, key)
        paths += _paths(value, here) if isinstance(value, dict) else [".".join(here)]
    return paths


def _request(case) -> str:
    """The request that failed, as a curl command the reader can replay against a served hub."""
    return case.as_curl_command()[:1500]


def _exercise(operation, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    """Send generated requests to one operation; return the first failure of each kind, if any."""
    found: dict[str, str] = {}

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report and go on
    )
    def exercise(case) -> None:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # every failure is reported, not just the first
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                if title == REJECTED and _beyond_the_schema(operation.label, response):
                    continue
                found.setdefault(
                    title,
                    f"{operation.label} ({mode}): {title}: {failure}\n{_request(case)}\n"
                    f"-> {response.status_code} {response.text[:600]}",
                )

    try:
        exercise()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE
    return list(found.values())


def test_following_the_documents_links_keeps_to_the_document(hub):
    """Stateful: create, then read, change and delete through the links the document declares."""
    app, network = hub
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(allow_x00=False)
    failures: list[str] = []

    class Links(schema.as_state_machine()):
        def get_call_kwargs(self, case) -> dict:
            party = network.vendor if case.path.startswith("/vendor-api/") else network.retailer
            return {"headers": dict(party.api.headers)}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            try:
                case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))
            except (Exception, BaseExceptionGroup) as exc:
                for failure in getattr(exc, "exceptions", [exc]):
                    title = getattr(failure, "title", type(failure).__name__)
                    if title == REJECTED and _beyond_the_schema(case.operation.label, response):
                        continue
                    failures.append(
                        f"{case.operation.label}: {title}: {failure}\n{_request(case)}\n"
                        f"-> {response.status_code} {response.text[:600]}"
                    )

    Links.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
    )
    assert not failures, f"{len(failures)} steps break the document:\n" + "\n\n".join(failures[:10])
