"""The console's Developers pages: API clients, webhook endpoints, deliveries and replays, the event log.

Every change is an owner's or an admin's, checked on the server (forms posted directly), audited
as the API audits it; another retailer's ids answer 404; secrets are shown once.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network.clock import utcnow
from network.db import transaction
from network.outbox import webhooks
from network.outbox.models import DEAD, Delivery, Event, WebhookEndpoint
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from network.partners import services as partners
from network.partners.audit import Actor, AuditEntry
from network.partners.models import ApiClient
from tests.builders import Api, issue_token, unique
from tests.console.test_vendors import sign_in_as
from tests.portal.conftest import csrf_of, fresh, submit
from tests.portal.test_query_counts import counting
from tests.webhooks.conftest import WEBHOOK_CONFIG

SECRET = re.compile(r"<code data-copy>([^<]+)</code>")


def new_retailer(session) -> int:
    with transaction(session):
        org = partners.create_organization(session, kind="retailer", name=unique("Shop"), now=utcnow())
    return org.id


def seeded(session, app, org_id: int) -> dict:
    """A client, an endpoint and a dead delivery of the retailer, made without the console."""
    now = utcnow()
    settings = WebhookSettings.from_config({**app.config, **WEBHOOK_CONFIG})
    with transaction(session):
        client, _ = partners.create_api_client(session, org_id=org_id, name="erp", now=now)
        endpoint, _ = webhooks.create_endpoint(
            session,
            org_id=org_id,
            url="https://shop.example/hooks",
            events=["*"],
            settings=settings,
            box=SecretBox(app.config["SECRET_KEY"]),
            actor=Actor(),
            now=now,
        )
        delivery = webhooks.ping_endpoint(session, endpoint.id, org_id=org_id, settings=settings, now=now)
        delivery.status = DEAD
        session.execute(sa.delete(AuditEntry).where(AuditEntry.org_id == org_id))
    return {"client": client.id, "endpoint": endpoint.id, "delivery": delivery.id}


def audit_actions(session, org_id: int) -> list[str]:
    fresh(session)
    return list(
        session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.org_id == org_id).order_by(AuditEntry.id)
        )
    )


def state(session, ids: dict) -> tuple:
    """What any of the actions would change."""
    fresh(session)
    endpoint = session.get(WebhookEndpoint, ids["endpoint"])
    return (
        session.scalar(
            sa.select(sa.func.count()).select_from(ApiClient).where(ApiClient.revoked_at.is_(None))
        ),
        session.get(ApiClient, ids["client"]).revoked_at,
        session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)),
        endpoint.secret_sealed if endpoint else None,
        session.get(Delivery, ids["delivery"]).status if endpoint else None,
        session.scalar(sa.select(sa.func.count()).select_from(Delivery)),
    )


ACTIONS = {
    "create client": lambda ids: ("/console/developers/clients", {"name": "pos", "scopes": ["orders:read"]}),
    "revoke client": lambda ids: (f"/console/developers/clients/{ids['client']}/revoke", {}),
    "create endpoint": lambda ids: (
        "/console/developers/webhooks",
        {"url": "https://shop.example/other", "events": "order.*, po.*"},
    ),
    "rotate secret": lambda ids: (f"/console/developers/webhooks/{ids['endpoint']}/rotate", {}),
    "ping": lambda ids: (f"/console/developers/webhooks/{ids['endpoint']}/ping", {}),
    "delete endpoint": lambda ids: (f"/console/developers/webhooks/{ids['endpoint']}/delete", {}),
    "replay": lambda ids: (f"/console/developers/deliveries/{ids['delivery']}/replay", {}),
}
# What each action leaves in the audit log (the same the API records for its own); a ping changes nothing.
AUDITED = {
    "create client": ["api_client.created"],
    "revoke client": ["api_client.revoked"],
    "create endpoint": ["webhook_endpoint.created"],
    "rotate secret": ["webhook_endpoint.secret_rotated"],
    "ping": [],
    "delete endpoint": ["webhook_endpoint.deleted"],
    "replay": ["webhook_delivery.replayed"],
}


def token_of(client) -> str:
    return csrf_of(client.get("/console/developers").get_data(as_text=True))


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_viewer_or_operator_posting_a_developers_form_directly_gets_403_and_nothing_changes(
    app, client, session, role, action
):
    org_id = new_retailer(session)
    ids = seeded(session, app, org_id)
    sign_in_as(client, session, org_id, role)
    page = client.get("/console/developers").get_data(as_text=True)
    assert "erp" in page and "Create the client" not in page and "Only an owner or an admin" in page
    before = state(session, ids)

    path, data = ACTIONS[action](ids)
    response = client.post(path, data={"csrf_token": token_of(client), **data})
    assert response.status_code == 403
    assert "may not manage API clients" in response.get_data(as_text=True)
    assert state(session, ids) == before
    assert audit_actions(session, org_id) == []


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_owner_or_admin_does_each_action_and_it_is_audited_with_their_name(
    app, client, session, role, action
):
    org_id = new_retailer(session)
    ids = seeded(session, app, org_id)
    sign_in_as(client, session, org_id, role)
    before = state(session, ids)

    path, data = ACTIONS[action](ids)
    response = client.post(path, data={"csrf_token": token_of(client), **data})
    assert response.status_code in (200, 201, 302), response.get_data(as_text=True)
    assert state(session, ids) != before
    assert audit_actions(session, org_id) == AUDITED[action]
    if AUDITED[action]:
        entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.org_id == org_id))
        assert entry.actor.startswith("user ") and role in entry.actor


@pytest.mark.parametrize("action", sorted(set(ACTIONS) - {"create client", "create endpoint"}))
def test_another_retailers_client_endpoint_or_delivery_is_not_found(app, client, session, action):
    mine, theirs = new_retailer(session), new_retailer(session)
    seeded(session, app, mine)
    their_ids = seeded(session, app, theirs)
    sign_in_as(client, session, mine, "owner")
    before = state(session, their_ids)

    path, data = ACTIONS[action](their_ids)
    assert client.post(path, data={"csrf_token": token_of(client), **data}).status_code == 404
    assert state(session, their_ids) == before
    assert client.get(f"/console/developers/webhooks/{their_ids['endpoint']}").status_code == 404
    assert audit_actions(session, theirs) == []


def test_the_lists_show_only_the_retailers_own_clients_endpoints_and_events(app, client, session):
    mine, theirs = new_retailer(session), new_retailer(session)
    seeded(session, app, theirs)
    with transaction(session):
        partners.create_api_client(session, org_id=theirs, name="their-secret-erp", now=utcnow())
    sign_in_as(client, session, mine, "viewer")
    assert "their-secret-erp" not in client.get("/console/developers").get_data(as_text=True)
    assert "shop.example/hooks" not in client.get("/console/developers/webhooks").get_data(as_text=True)
    assert "No events yet" in client.get("/console/developers/events").get_data(as_text=True)


def test_a_new_clients_secret_is_shown_once_and_gets_a_token_then_revoking_stops_it(app, client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "admin")
    created = submit(
        client,
        "/console/developers/clients",
        {"name": "storefront", "scopes": ["orders:read", "catalog:read"]},
        page="/console/developers",
    )
    assert created.status_code == 201
    html = created.get_data(as_text=True)
    client_id, secret = SECRET.findall(html)
    assert "shown this once" in html

    api = Api(client, issue_token(client, client_id, secret))
    assert api.get("/api/v1/events").status_code == 200
    assert api.get("/api/v1/items").status_code == 200
    assert api.post("/api/v1/orders", json={}).status_code == 403  # no orders:write asked for
    listed = client.get("/console/developers").get_data(as_text=True)
    assert client_id in listed and secret not in listed

    fresh(session)
    pk = session.scalar(sa.select(ApiClient.id).where(ApiClient.client_id == client_id))
    revoked = submit(client, f"/console/developers/clients/{pk}/revoke", {}, page="/console/developers")
    assert revoked.status_code == 302
    assert api.get("/api/v1/events").status_code == 401
    after = client.get("/console/developers").get_data(as_text=True)
    assert "is revoked" in after and f"<code>{client_id}</code>" not in after
    fresh(session)
    entries = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.org_id == org_id).order_by(AuditEntry.id)
    )
    created_entry, revoked_entry = entries
    assert created_entry.after == {"name": "storefront", "scopes": ["catalog:read", "orders:read"]}
    assert created_entry.subject == revoked_entry.subject == f"API client {client_id}"


def test_a_client_without_scopes_or_a_refused_endpoint_url_is_a_422_and_nothing_is_made(app, client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "owner")
    no_scope = submit(client, "/console/developers/clients", {"name": "x"}, page="/console/developers")
    assert no_scope.status_code == 422 and "pick at least one scope" in no_scope.get_data(as_text=True)
    plain_http = submit(
        client,
        "/console/developers/webhooks",
        {"url": "http://shop.example/hooks", "events": "*"},
        page="/console/developers/webhooks",
    )
    assert plain_http.status_code == 422 and "https" in plain_http.get_data(as_text=True)
    bad_events = submit(
        client,
        "/console/developers/webhooks",
        {"url": "https://shop.example/hooks", "events": "Not An Event!"},
        page="/console/developers/webhooks",
    )
    assert bad_events.status_code == 422 and "is not one" in bad_events.get_data(as_text=True)
    fresh(session)
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiClient)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0
    assert audit_actions(session, org_id) == []


def test_an_endpoints_secret_is_shown_once_at_creation_and_at_each_rotation(app, client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "owner")
    created = submit(
        client,
        "/console/developers/webhooks",
        {"url": "https://shop.example/hooks", "events": "availability.changed po.*", "description": "ERP"},
        page="/console/developers/webhooks",
    )
    assert created.status_code == 201
    (secret,) = SECRET.findall(created.get_data(as_text=True))
    fresh(session)
    endpoint = session.scalar(sa.select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id))
    assert endpoint.events == ["availability.changed", "po.*"]
    box = SecretBox(app.config["SECRET_KEY"])
    assert box.open(endpoint.secret_sealed) == secret
    page = f"/console/developers/webhooks/{endpoint.id}"
    assert secret not in client.get(page).get_data(as_text=True)

    rotated = submit(client, f"{page}/rotate", {}, page=page)
    assert rotated.status_code == 200
    (new_secret,) = SECRET.findall(rotated.get_data(as_text=True))
    assert new_secret != secret and "shown this once" in rotated.get_data(as_text=True)
    fresh(session)
    endpoint = session.get(WebhookEndpoint, endpoint.id)
    assert box.open(endpoint.secret_sealed) == new_secret
    assert box.open(endpoint.previous_secret_sealed) == secret
    assert new_secret not in client.get(page).get_data(as_text=True)
    assert audit_actions(session, org_id) == ["webhook_endpoint.created", "webhook_endpoint.secret_rotated"]


def test_the_api_records_the_same_audit_entries_as_the_console(app, client, session, network):
    retailer = network.retailer
    api = retailer.api
    created = api.post("/api/v1/webhook-endpoints", json={"url": "https://shop.example/api", "events": ["*"]})
    assert created.status_code == 201
    endpoint_id = created.get_json()["id"]
    assert api.post(f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret").status_code == 200
    assert api.patch(f"/api/v1/webhook-endpoints/{endpoint_id}", json={"active": False}).status_code == 200
    assert api.delete(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 204
    fresh(session)
    entries = list(
        session.scalars(sa.select(AuditEntry).where(AuditEntry.org_id == retailer.id).order_by(AuditEntry.id))
    )
    assert [e.action for e in entries] == [
        "webhook_endpoint.created",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.changed",
        "webhook_endpoint.deleted",
    ]
    assert {e.actor for e in entries} == {f"API client {retailer.client_id}"}
    assert entries[2].before == {"active": True} and entries[2].after == {"active": False}


def test_replaying_a_dead_delivery_from_the_console_delivers_it_to_a_real_receiver(
    app, client, session, receiver_factory, dispatcher, clock
):
    receiver = receiver_factory(status=503)
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "admin")
    created = submit(
        client,
        "/console/developers/webhooks",
        {"url": receiver.url, "events": "*"},
        page="/console/developers/webhooks",
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    fresh(session)
    endpoint_id = session.scalar(sa.select(WebhookEndpoint.id).where(WebhookEndpoint.org_id == org_id))
    page = f"/console/developers/webhooks/{endpoint_id}"
    pinged = submit(client, f"{page}/ping", {}, page=page)
    assert pinged.status_code == 302

    dispatcher.run_until_idle()
    for _ in range(60):  # the receiver keeps failing: retried with backoff for a day, then dead
        clock.advance(hours=1)
        dispatcher.run_until_idle()
        fresh(session)
        if session.scalar(sa.select(Delivery.status).where(Delivery.endpoint_id == endpoint_id)) == DEAD:
            break
    dead_page = client.get(f"{page}?status=dead").get_data(as_text=True)
    assert "badge-dead" in dead_page and "HTTP 503" in dead_page and "Replay" in dead_page
    delivery_id = session.scalar(sa.select(Delivery.id).where(Delivery.endpoint_id == endpoint_id))
    first = receiver.received[0]

    receiver.status = 200
    replayed = submit(client, f"/console/developers/deliveries/{delivery_id}/replay", {}, page=page)
    assert replayed.status_code == 302 and replayed.headers["Location"] == page
    dispatcher.run_until_idle()
    assert receiver.received[-1].delivery_id == first.delivery_id == str(delivery_id)
    assert receiver.received[-1].json["type"] == "ping"
    fresh(session)
    assert session.get(Delivery, delivery_id).status == "delivered"
    shown = client.get(page).get_data(as_text=True)
    assert "badge-delivered" in shown and "badge-dead" not in shown
    assert "No deliveries with status dead" in client.get(f"{page}?status=dead").get_data(as_text=True)
    assert audit_actions(session, org_id) == ["webhook_endpoint.created", "webhook_delivery.replayed"]

    again = submit(client, f"{page}/ping", {}, page=page)  # a pending delivery cannot be replayed
    assert again.status_code == 302
    fresh(session)
    pending_id = session.scalar(
        sa.select(sa.func.max(Delivery.id)).where(Delivery.endpoint_id == endpoint_id)
    )
    refused = submit(client, f"/console/developers/deliveries/{pending_id}/replay", {}, page=page)
    assert refused.status_code == 409 and "still pending" in refused.get_data(as_text=True)


def _queries(client, path: str) -> int:
    with counting() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def _add_events(session, org_id: int, count: int) -> None:
    now = utcnow()
    with transaction(session):
        start = session.scalar(sa.select(sa.func.coalesce(sa.func.max(Event.seq), 0)))
        session.add_all(
            Event(org_id=org_id, type="ping", key=f"k{n}", data={"n": n}, created_at=now, seq=start + n + 1)
            for n in range(count)
        )


def test_the_event_log_pages_by_keyset_newest_first_in_a_fixed_number_of_queries(app, client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "viewer")
    _add_events(session, org_id, 3)
    few = _queries(client, "/console/developers/events")
    _add_events(session, org_id, 60)  # 63 events: a full page of 50 and 13 older ones
    many = _queries(client, "/console/developers/events")
    assert many == few

    first = client.get("/console/developers/events").get_data(as_text=True)
    assert first.count('{"n": 59}') == 1 and first.count("<tr>") == 51  # the header row and 50
    older = re.search(r'href="(/console/developers/events\?before=\d+)"', first).group(1)
    second = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("<tr>") == 14 and "Older events" not in second
    assert '{"n": 0}' in second and '{"n": 59}' not in second


def test_an_endpoints_deliveries_page_by_keyset_in_a_fixed_number_of_queries(app, client, session):
    org_id = new_retailer(session)
    ids = seeded(session, app, org_id)
    sign_in_as(client, session, org_id, "operator")
    page = f"/console/developers/webhooks/{ids['endpoint']}"
    few = _queries(client, page)
    settings = WebhookSettings.from_config(app.config)
    with transaction(session):
        for _ in range(55):
            webhooks.ping_endpoint(session, ids["endpoint"], org_id=org_id, settings=settings, now=utcnow())
    assert _queries(client, page) == few

    first = client.get(page).get_data(as_text=True)
    assert first.count("badge-pending") == 50 and "Replay" not in first  # an operator sees no actions
    older = re.search(r'href="([^"]+before=\d+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert second.count("badge-pending") == 5 and second.count("badge-dead") == 1
    assert "Older deliveries" not in second
    dead_only = client.get(f"{page}?status=dead").get_data(as_text=True)
    assert dead_only.count("badge-dead") == 1 and "badge-pending" not in dead_only


def test_the_nav_leads_to_the_developers_pages(app, client, session):
    sign_in_as(client, session, new_retailer(session), "viewer")
    home = client.get("/console").get_data(as_text=True)
    assert 'href="/console/developers"' in home


def test_the_client_and_endpoint_lists_page_by_keyset_in_a_fixed_number_of_queries(app, client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "admin")
    few = (_queries(client, "/console/developers"), _queries(client, "/console/developers/webhooks"))
    now = utcnow()
    settings = WebhookSettings.from_config(app.config)
    with transaction(session):
        for n in range(52):
            partners.create_api_client(session, org_id=org_id, name=f"client-{n:02}", now=now)
            webhooks.create_endpoint(
                session,
                org_id=org_id,
                url=f"https://shop.example/hook-{n:02}",
                events=["*"],
                settings=settings,
                box=SecretBox(app.config["SECRET_KEY"]),
                actor=Actor(),
                now=now,
            )
    assert (_queries(client, "/console/developers"), _queries(client, "/console/developers/webhooks")) == few

    for path, first_row, last_row in (
        ("/console/developers", "client-00", "client-51"),
        ("/console/developers/webhooks", "hook-00", "hook-51"),
    ):
        first = client.get(path).get_data(as_text=True)
        assert first_row in first and last_row not in first
        more = re.search(r'href="([^"]+\?after=\d+)"', first).group(1)
        second = client.get(more).get_data(as_text=True)
        assert last_row in second and first_row not in second and "More " not in second
