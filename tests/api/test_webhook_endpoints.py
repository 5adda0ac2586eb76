"""The webhook endpoint API: registration, secrets shown once, validation, isolation, dead letters."""

from __future__ import annotations

import pytest

from tests.builders import make_org

PUBLIC_URL = "https://93.184.216.34/hooks/dropnet"  # a public address: no DNS needed in tests


@pytest.fixture(autouse=True)
def _strict_urls(app) -> None:
    """Production rules: https only, no private addresses."""
    app.config.update(HUB_WEBHOOK_ALLOW_HTTP_HOSTS="", HUB_WEBHOOK_ALLOW_PRIVATE=False)


def create(retailer, **fields):
    body = {"url": PUBLIC_URL, "events": ["availability.changed"], **fields}
    return retailer.api.post("/api/v1/webhook-endpoints", json=body)


def test_registering_returns_the_secret_once(network):
    retailer = network.retailer
    response = create(
        retailer, min_interval_seconds=600, buffer=2, max_quantity=50, description="Marketplace"
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert created["secret"].startswith("whsec_")
    assert (created["min_interval_seconds"], created["buffer"], created["max_quantity"]) == (600, 2, 50)

    shown = retailer.api.get(f"/api/v1/webhook-endpoints/{created['id']}").get_json()
    assert "secret" not in shown
    assert shown["url"] == PUBLIC_URL
    listed = retailer.api.get("/api/v1/webhook-endpoints").get_json()
    assert [e["id"] for e in listed["data"]] == [created["id"]]
    assert all("secret" not in e for e in listed["data"])


def test_defaults_are_an_unthrottled_channel_with_an_automatic_buffer_and_no_cap(network):
    created = create(network.retailer).get_json()
    # buffer null: automatic (none on the fixed model; see tests/webhooks/test_channel_buffer.py)
    assert (created["min_interval_seconds"], created["buffer"], created["max_quantity"]) == (0, None, None)
    assert created["active"] is True


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",  # plain http
        "ftp://93.184.216.34/hook",
        "https://10.0.0.7/hook",  # private
        "https://127.0.0.1/hook",  # loopback
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hook",
        "https://233.252.0.1/hook",  # multicast
        "https://localhost/hook",
        "not a url",
        "https:///no-host",
    ],
)
def test_urls_the_hub_must_not_call_are_refused_and_nothing_is_created(network, url):
    response = create(network.retailer, url=url)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert "url" in response.get_json()["errors"]
    assert network.retailer.api.get("/api/v1/webhook-endpoints").get_json()["data"] == []


def test_local_receivers_can_be_allowed_by_settings(app, network):
    app.config.update(HUB_WEBHOOK_ALLOW_HTTP_HOSTS="127.0.0.1", HUB_WEBHOOK_ALLOW_PRIVATE=True)
    assert create(network.retailer, url="http://127.0.0.1:9/hook").status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": ["Availability Changed"]},
        {"events": "availability.changed"},
        {"min_interval_seconds": -1},
        {"buffer": -5},
        {"max_quantity": -1},
        {"buffer": "2"},
        {"secret": "mine"},
        {"url": None},
    ],
)
def test_invalid_bodies_answer_422_and_change_nothing(network, body):
    response = create(network.retailer, **body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"]
    assert network.retailer.api.get("/api/v1/webhook-endpoints").get_json()["data"] == []


def test_patch_changes_the_channel_and_rechecks_the_url(network):
    retailer = network.retailer
    endpoint = create(retailer).get_json()
    response = retailer.api.patch(
        f"/api/v1/webhook-endpoints/{endpoint['id']}",
        json={"events": ["availability.changed", "po.*"], "max_quantity": None, "buffer": 4, "active": False},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    patched = response.get_json()
    assert (patched["events"], patched["buffer"], patched["active"]) == (
        ["availability.changed", "po.*"],
        4,
        False,
    )
    refused = retailer.api.patch(
        f"/api/v1/webhook-endpoints/{endpoint['id']}", json={"url": "https://10.1.1.1/"}
    )
    assert refused.status_code == 422
    assert retailer.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").get_json()["url"] == PUBLIC_URL


def test_delete_removes_the_endpoint(network):
    endpoint = create(network.retailer).get_json()
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    assert network.retailer.api.delete(path).status_code == 204
    assert network.retailer.api.get(path).status_code == 404
    assert network.retailer.api.delete(path).status_code == 404


def test_rotation_shows_a_new_secret_and_when_the_old_one_stops(network):
    endpoint = create(network.retailer).get_json()
    response = network.retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    assert response.status_code == 200
    rotated = response.get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
    assert rotated["previous_secret_expires_at"] is not None


def test_another_retailers_endpoints_and_deliveries_answer_404(network):
    mine, other = network.retailers
    endpoint = create(mine).get_json()
    ping = mine.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping").get_json()
    base = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    for method, path in (
        ("get", base),
        ("patch", base),
        ("delete", base),
        ("post", base + "/rotate-secret"),
        ("post", base + "/ping"),
        ("get", base + "/deliveries"),
        ("post", f"/api/v1/webhook-deliveries/{ping['id']}/replay"),
    ):
        kwargs = {"json": {"buffer": 1}} if method == "patch" else {}
        response = getattr(other.api, method)(path, **kwargs)
        assert response.status_code == 404, (method, path, response.status_code)
    assert other.api.get("/api/v1/webhook-endpoints").get_json()["data"] == []
    assert mine.api.get(base).status_code == 200


def test_the_scope_is_required_and_vendors_use_their_own_api(session, client, network):
    reader = make_org(session, client, "retailer", scopes=["catalog:read"])
    assert create(reader).status_code == 403
    assert network.vendor.api.get("/api/v1/webhook-endpoints").status_code == 403
    assert client.get("/api/v1/webhook-endpoints").status_code == 401


def test_deliveries_list_a_ping_and_filter_by_status(network):
    retailer = network.retailer
    endpoint = create(retailer).get_json()
    ping = retailer.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping")
    assert ping.status_code == 202
    assert ping.get_json()["type"] == "ping"
    base = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    assert [d["id"] for d in retailer.api.get(base + "?status=pending").get_json()["data"]] == [
        ping.get_json()["id"]
    ]
    assert retailer.api.get(base + "?status=dead").get_json()["data"] == []
    assert retailer.api.get(base + "?status=lost").status_code == 422


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/webhook-endpoints",
        "/api/v1/webhook-endpoints/{endpoint_id}",
        "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        "/api/v1/webhook-endpoints/{endpoint_id}/ping",
        "/api/v1/webhook-endpoints/{endpoint_id}/deliveries",
        "/api/v1/webhook-deliveries/{delivery_id}/replay",
    } <= set(paths)


def test_a_buffer_set_back_to_null_is_automatic_and_a_bad_one_changes_nothing(network):
    retailer = network.retailer
    endpoint = create(retailer, buffer=3, min_interval_seconds=600).get_json()
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    for bad in (-1, "3", 1.5, "auto", 2_000_000):
        refused = retailer.api.patch(path, json={"buffer": bad})
        assert refused.status_code == 422, bad
        assert refused.content_type.startswith("application/problem+json")
        assert "buffer" in refused.get_json()["errors"]
        assert retailer.api.get(path).get_json()["buffer"] == 3
    patched = retailer.api.patch(path, json={"buffer": None})
    assert patched.status_code == 200 and patched.get_json()["buffer"] is None
    assert retailer.api.get(path).get_json()["buffer"] is None
    assert create(retailer, buffer=None).get_json()["buffer"] is None
    assert retailer.api.patch(path, json={"buffer": 0}).get_json()["buffer"] == 0  # an explicit zero
