"""The published OpenAPI document describes every API route and what the routes really return."""

from __future__ import annotations

import re

from network.feeds.credentials import AUTH_PARAMETERS
from tests.builders import make_item, make_variant, push_csv

API_PREFIXES = ("/api/v1/", "/vendor-api/v1/")


def _spec(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_every_api_route_is_in_the_document(app, client):
    spec = _spec(client)
    documented = {
        (path, method.upper())
        for path, ops in spec["paths"].items()
        for method in ops
        if method != "parameters"
    }
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)  # <int(max=…):id> too
        if not path.startswith(API_PREFIXES) or path.endswith("openapi.json"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not documented"


def test_every_operation_declares_its_oauth_scope(client):
    spec = _spec(client)
    assert (
        spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"]
        == "/oauth/token"
    )
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            assert op.get("security"), f"{method} {path} does not declare a scope"


def _properties(spec: dict, schema: dict) -> set[str]:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("properties", {}))


def test_availability_response_matches_its_documented_schema(session, client, network):
    variant = make_variant(session, network.vendor, "DOC")
    sku = make_item(session, network.retailer, [variant])
    push_csv(network.vendor, "sku,quantity\nDOC,2\n")
    body = network.retailer.api.get(f"/api/v1/availability?sku={sku}").get_json()
    spec = _spec(client)
    op = spec["paths"]["/api/v1/availability"]["get"]
    page_schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(body) == _properties(spec, page_schema)
    item_ref = spec["components"]["schemas"][page_schema["$ref"].rsplit("/", 1)[-1]]["properties"]["data"][
        "items"
    ]
    assert set(body["data"][0]) == _properties(spec, item_ref)
    params = {p["name"] for p in op["parameters"]}
    assert {"sku", "limit", "cursor"} <= params


def test_feed_run_response_matches_its_documented_schema(session, client, network):
    make_variant(session, network.vendor, "RUN")
    run = push_csv(network.vendor, "sku,quantity\nRUN,1\n").get_json()
    spec = _spec(client)
    op = spec["paths"]["/vendor-api/v1/inventory"]["post"]
    assert set(op["requestBody"]["content"]) == {"application/json", "text/csv"}
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(run) == _properties(spec, schema)


def test_money_is_a_decimal_string_in_the_document_and_on_the_wire(client, network):
    spec = _spec(client)
    schemas = spec["components"]["schemas"]
    for name, field in [("VariantPut", "cost"), ("OwnVariant", "cost"), ("CatalogVariant", "msrp")]:
        prop = schemas[name]["properties"][field]
        assert (prop["type"], prop["format"]) == ("string", "decimal"), (name, prop)
        assert "minimum" not in prop and "maximum" not in prop
    # The pattern is the API's: a value it documents is taken, and answered as the same kind of string.
    pattern = re.compile(schemas["VariantPut"]["properties"]["cost"]["pattern"])
    assert pattern.fullmatch("99999999.9999") and not pattern.fullmatch("1e3")
    body = {"title": "Lamp", "cost": "99999999.9999", "msrp": 12.5}
    answer = network.vendor.api.put("/vendor-api/v1/variants/MONEY-1", json=body)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert (answer.get_json()["cost"], answer.get_json()["msrp"]) == ("99999999.9999", "12.5000")


def test_errors_are_documented_as_the_problem_details_they_are(client, network):
    spec = _spec(client)
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            default = op["responses"]["default"]
            ref = default["$ref"].rsplit("/", 1)[-1]
            assert set(spec["components"]["responses"][ref]["content"]) == {"application/problem+json"}, (
                method,
                path,
            )
    answer = network.vendor.api.put("/vendor-api/v1/variants/X", json={"title": 5})
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert set(problem["required"]) <= set(answer.get_json())


def test_a_405_says_which_methods_the_resource_has(network):
    answer = network.retailer.api.delete("/api/v1/availability")
    assert answer.status_code == 405
    assert answer.mimetype == "application/problem+json"
    assert set(answer.headers["Allow"].split(", ")) >= {"GET"}


def test_a_nullable_nested_object_admits_only_its_own_shape(client):
    spec = _spec(client)
    text = str(spec)
    # apispec's rendering let any object through in place of the nested one.
    assert "{'type': 'object', 'nullable': True}" not in text
    auth = spec["components"]["schemas"]["FeedAuth"]
    kinds = {shape["properties"]["kind"]["enum"][0]: set(shape["required"]) for shape in auth["oneOf"]}
    assert kinds == {kind: {"kind", *names} for kind, names in AUTH_PARAMETERS.items()}


def test_a_body_that_is_not_json_has_errors_by_field_as_documented(network):
    answer = network.retailer.api.patch(
        "/api/v1/settings", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.get_json()["errors"] == {"_body": ["Invalid JSON body."]}


def test_the_document_read_first_by_several_requests_at_once_is_whole_for_each(app):
    """The document is built on its first read (not at start-up): concurrent first readers all get
    the whole of it, once."""
    import threading

    results: list[dict] = []

    def read() -> None:
        with app.test_client() as own:
            results.append(_spec(own))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all(result == results[0] for result in results)
    assert len(results[0]["paths"]) > 50
    tags = [tag["name"] for tag in results[0]["tags"]]
    assert len(tags) == len(set(tags))  # each blueprint documented once
