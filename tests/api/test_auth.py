"""OAuth2 client credentials, bearer tokens, scopes and sides."""

from __future__ import annotations

import base64

from network.clock import utcnow
from network.db import transaction
from network.partners import services as partners
from network.partners.audit import Actor
from tests.builders import Api, issue_token, make_org


def test_token_endpoint_issues_a_bearer_token_for_basic_client_auth(session, client):
    party = make_org(session, client, "retailer")
    basic = base64.b64encode(f"{party.client_id}:{party.secret}".encode()).decode()
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert "availability:read" in body["scope"].split()


def test_token_endpoint_accepts_credentials_in_the_form(session, client):
    party = make_org(session, client, "vendor")
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": party.client_id,
            "client_secret": party.secret,
        },
    )
    assert response.status_code == 200
    assert response.get_json()["access_token"]


def test_wrong_secret_is_refused(session, client):
    party = make_org(session, client, "retailer")
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": party.client_id, "client_secret": "nope"},
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_secrets_and_tokens_are_stored_only_as_hashes(session, client):
    party = make_org(session, client, "retailer")
    stored = partners.find_client(session, party.client_id)
    assert party.secret not in stored.secret_hash
    token = issue_token(client, party.client_id, party.secret)
    from network.partners.models import AccessToken

    assert all(token != row.token_hash for row in session.query(AccessToken).all())


def test_missing_or_bad_token_answers_401_problem(client):
    response = client.get("/api/v1/availability")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    forged = Api(client, "forged").get("/api/v1/availability")
    assert forged.status_code == 401
    assert forged.headers["WWW-Authenticate"].startswith("Bearer ")
    vendor_side = Api(client, "forged").get("/vendor-api/v1/feed-runs")
    assert vendor_side.status_code == 401
    assert vendor_side.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_scope_the_client_does_not_hold_is_invalid_scope_not_a_narrower_token(session, client):
    party = make_org(session, client, "retailer", scopes=["catalog:read"])
    for scope in ("catalog:read no-such-scope", "availability:read"):
        response = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": party.client_id,
                "client_secret": party.secret,
                "scope": scope,
            },
        )
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_scope"
        assert "access_token" not in response.get_json()


def test_missing_scope_answers_403(session, client):
    party = make_org(session, client, "retailer", scopes=["catalog:read"])
    response = party.api.get("/api/v1/availability")
    assert response.status_code == 403
    assert "availability:read" in response.get_json()["detail"]


def test_token_narrowed_to_requested_scope(session, client):
    party = make_org(session, client, "retailer")
    token = issue_token(client, party.client_id, party.secret, scope="catalog:read")
    assert Api(client, token).get("/api/v1/availability").status_code == 403
    assert Api(client, token).get("/api/v1/items").status_code == 200


def test_vendor_token_is_refused_on_retailer_api_and_vice_versa(session, client):
    vendor = make_org(session, client, "vendor")
    retailer = make_org(session, client, "retailer")
    assert vendor.api.get("/api/v1/items").status_code == 403
    assert retailer.api.get("/vendor-api/v1/feed-runs").status_code == 403


def test_revoked_client_tokens_stop_working(session, client):
    party = make_org(session, client, "retailer")
    stored = partners.find_client(session, party.client_id)
    with transaction(session):
        partners.revoke_api_client(session, stored.id, org_id=party.id, actor=Actor(), now=utcnow())
    assert party.api.get("/api/v1/items").status_code == 401
