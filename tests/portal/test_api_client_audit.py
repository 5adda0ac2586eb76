"""Creating and revoking an API client in the portal are written to the vendor's audit log."""

from __future__ import annotations

import re

import sqlalchemy as sa

from network.partners.audit import AuditEntry
from tests.builders import issue_token
from tests.portal.conftest import fresh, make_vendor_user, page_token, sign_in, submit


def test_creating_and_revoking_a_client_are_logged_with_the_user(client, session, signed_in):
    token = page_token(client, "/portal/api-access")
    data = {"csrf_token": token, "name": "Our ERP", "scopes": ["inventory:write"]}
    page = client.post("/portal/api-access", data=data).get_data(as_text=True)
    client_id = re.search(r"<dt>Client id</dt><dd><code data-copy>([^<]+)</code>", page).group(1)
    pk = re.search(
        r'action="/portal/api-access/(\d+)/revoke"', client.get("/portal/api-access").get_data(as_text=True)
    )
    assert (
        submit(client, f"/portal/api-access/{pk.group(1)}/revoke", {}, page="/portal/api-access").status_code
        == 302
    )

    fresh(session)
    entries = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.org_id == signed_in.org_id).order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.subject, e.actor) for e in entries] == [
        ("api_client.created", f"API client {client_id}", f"user {signed_in.email}"),
        ("api_client.revoked", f"API client {client_id}", f"user {signed_in.email}"),
    ]
    assert entries[0].after == {"name": "Our ERP", "scopes": ["inventory:write"]}
    assert (entries[1].before, entries[1].after) == ({"revoked": False}, {"revoked": True})


def _new_client(client, name: str) -> tuple[str, str]:
    token = page_token(client, "/portal/api-access")
    data = {"csrf_token": token, "name": name, "scopes": ["webhooks:manage"]}
    page = client.post("/portal/api-access", data=data).get_data(as_text=True)
    client_id = re.search(r"<dt>Client id</dt><dd><code data-copy>([^<]+)</code>", page).group(1)
    secret = re.search(r"<dt>Client secret</dt><dd><code data-copy>([^<]+)</code>", page).group(1)
    return client_id, secret


def test_the_vendor_api_pages_through_its_own_audit_log_only(app, client, session, signed_in):
    first_id, secret = _new_client(client, "ERP")
    second_id, _ = _new_client(client, "WMS")
    other = app.test_client()
    sign_in(other, make_vendor_user(session))
    _new_client(other, "Theirs")

    headers = {"Authorization": f"Bearer {issue_token(client, first_id, secret)}"}
    head = client.get("/vendor-api/v1/audit-log?limit=1", headers=headers)
    assert head.status_code == 200
    body = head.get_json()
    assert [e["subject"] for e in body["data"]] == [f"API client {first_id}"]
    rest = client.get(f"/vendor-api/v1/audit-log?cursor={body['next_cursor']}", headers=headers).get_json()
    assert [(e["action"], e["subject"]) for e in rest["data"]] == [
        ("api_client.created", f"API client {second_id}")
    ]
    assert rest["next_cursor"] is None
