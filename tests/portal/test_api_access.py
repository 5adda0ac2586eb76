"""API access: a vendor creates OAuth clients for its own systems (secret shown once), lists and revokes them."""

from __future__ import annotations

import re

from tests.builders import issue_token
from tests.portal.conftest import make_vendor_user, page_token, sign_in, submit


def create_client(client, name: str, scopes: list[str]):
    token = page_token(client, "/portal/api-access")
    return client.post("/portal/api-access", data={"csrf_token": token, "name": name, "scopes": scopes})


def test_a_new_client_shows_its_secret_once_and_works_against_the_vendor_api(client, signed_in):
    response = create_client(client, "Our ERP", ["inventory:write", "purchase_orders:read"])
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert "shown this once" in page
    client_id = re.search(r"<dt>Client id</dt><dd><code data-copy>([^<]+)</code>", page).group(1)
    secret = re.search(r"<dt>Client secret</dt><dd><code data-copy>([^<]+)</code>", page).group(1)

    token = issue_token(client, client_id, secret)
    assert (
        client.get("/vendor-api/v1/feed-runs", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )

    listing = client.get("/portal/api-access").get_data(as_text=True)
    assert client_id in listing and "Our ERP" in listing
    assert secret not in listing


def test_a_client_needs_a_name_and_a_scope(client, signed_in):
    response = create_client(client, "", [])
    assert response.status_code == 422
    assert "pick at least one scope" in response.get_data(as_text=True)
    assert "<code data-copy>" not in response.get_data(as_text=True)


def test_a_retailer_scope_cannot_be_granted(client, signed_in):
    response = create_client(client, "Sneaky", ["orders:write"])
    assert response.status_code == 422


def test_revoking_a_client_stops_its_tokens_and_only_the_owner_can(app, session, client, signed_in):
    page = create_client(client, "Old WMS", ["inventory:write"]).get_data(as_text=True)
    client_id = re.search(r"<dt>Client id</dt><dd><code data-copy>([^<]+)</code>", page).group(1)
    secret = re.search(r"<dt>Client secret</dt><dd><code data-copy>([^<]+)</code>", page).group(1)
    token = issue_token(client, client_id, secret)
    pk = int(
        re.search(
            r'action="/portal/api-access/(\d+)/revoke"',
            client.get("/portal/api-access").get_data(as_text=True),
        ).group(1)
    )

    other = app.test_client()
    sign_in(other, make_vendor_user(session))
    assert submit(other, f"/portal/api-access/{pk}/revoke", {}, page="/portal/api-access").status_code == 404

    assert submit(client, f"/portal/api-access/{pk}/revoke", {}, page="/portal/api-access").status_code == 302
    assert (
        client.get("/vendor-api/v1/feed-runs", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert client_id not in client.get("/portal/api-access").get_data(as_text=True)
