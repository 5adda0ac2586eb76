"""The console's Vendors page: terms beside the scorecard, and the terms form (owner/admin only)."""

from __future__ import annotations

import pytest

from network.clock import utcnow
from network.db import transaction
from network.partners.models import Connection, User
from tests.builders import unique
from tests.flag_helpers import order_of, po_action
from tests.order_helpers import stocked_item
from tests.portal.conftest import PASSWORD, _password_hash, csrf_of, fresh, submit

TERMS = {
    "ack_sla_hours": "12",
    "ship_sla_hours": "48",
    "safety_buffer": "3",
    "stale_after_minutes": "600",
    "routing_priority": "5",
    "status": "active",
}


def sign_in_as(client, session, org_id: int, role: str) -> None:
    email = f"{unique(role)}@shop.example"
    with transaction(session):
        session.add(
            User(
                org_id=org_id,
                email=email,
                password_hash=_password_hash(PASSWORD),
                role=role,
                created_at=utcnow(),
            )
        )
    response = submit(client, "/console/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def connection_of(session, retailer_id: int, vendor_id: int) -> Connection:
    fresh(session)
    conn = session.query(Connection).filter_by(retailer_id=retailer_id, vendor_id=vendor_id).one()
    return conn


def test_the_page_shows_terms_beside_the_scorecard_and_an_admin_changes_the_terms(client, session, network):
    retailer = network.retailer
    vendor = network.vendor
    _, sku = stocked_item(session, vendor, [retailer], 10)
    placed = order_of(retailer, sku, 4)
    po_action(vendor, placed["po"], "cancel", {"reason": "cannot make it"})
    sign_in_as(client, session, retailer.id, "admin")

    page = client.get("/console/vendors")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert vendor.name in html and network.vendors[1].name in html
    assert "100%" in html  # the vendor cancelled every unit it was sent (4 of 4), in both windows
    assert "30 days" in html and "90 days" in html

    conn = connection_of(session, retailer.id, vendor.id)
    form = client.get(f"/console/vendors/{conn.id}")
    assert form.status_code == 200 and "Save the terms" in form.get_data(as_text=True)
    saved = submit(client, f"/console/vendors/{conn.id}", TERMS)
    assert saved.status_code == 302 and saved.headers["Location"] == "/console/vendors"
    conn = connection_of(session, retailer.id, vendor.id)
    assert (conn.ack_sla_hours, conn.ship_sla_hours, conn.safety_buffer, conn.routing_priority) == (
        12,
        48,
        3,
        5,
    )


def test_bad_terms_are_refused_on_the_form_and_nothing_changes(client, session, network):
    sign_in_as(client, session, network.retailer.id, "owner")
    conn = connection_of(session, network.retailer.id, network.vendor.id)
    before = conn.ack_sla_hours
    refused = submit(client, f"/console/vendors/{conn.id}", {**TERMS, "ack_sla_hours": "0"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert connection_of(session, network.retailer.id, network.vendor.id).ack_sla_hours == before


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_viewer_or_operator_posting_the_form_directly_gets_403_and_nothing_changes(
    client, session, network, role
):
    sign_in_as(client, session, network.retailer.id, role)
    conn = connection_of(session, network.retailer.id, network.vendor.id)
    page = client.get(f"/console/vendors/{conn.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Save the terms" not in html and "Only an owner or an admin" in html
    token = csrf_of(client.get("/console/vendors").get_data(as_text=True))  # the sign-out form's token
    response = client.post(f"/console/vendors/{conn.id}", data={"csrf_token": token, **TERMS})
    assert response.status_code == 403
    after = connection_of(session, network.retailer.id, network.vendor.id)
    assert (after.ack_sla_hours, after.routing_priority) == (conn.ack_sla_hours, conn.routing_priority)


def test_another_retailers_connection_is_not_found(client, session, network):
    first, second = network.retailers
    sign_in_as(client, session, first.id, "owner")
    theirs = connection_of(session, second.id, network.vendor.id)
    assert client.get(f"/console/vendors/{theirs.id}").status_code == 404
    token = csrf_of(client.get("/console/vendors").get_data(as_text=True))
    assert (
        client.post(f"/console/vendors/{theirs.id}", data={"csrf_token": token, **TERMS}).status_code == 404
    )
    assert connection_of(session, second.id, network.vendor.id).routing_priority == theirs.routing_priority
    assert second.name not in client.get("/console/vendors").get_data(as_text=True)


def test_a_terms_change_is_in_the_audit_log_with_who_before_and_after(client, session, network):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "admin")
    conn = connection_of(session, retailer.id, network.vendor.id)
    assert submit(client, f"/console/vendors/{conn.id}", TERMS).status_code == 302
    # Saving the same terms again changes nothing, so it is not logged again.
    assert submit(client, f"/console/vendors/{conn.id}", TERMS).status_code == 302
    # The retailer's API client changes one term: the log names the client.
    assert (
        retailer.api.patch(f"/api/v1/connections/{conn.id}", json={"routing_priority": 7}).status_code == 200
    )

    log = retailer.api.get("/api/v1/audit-log?limit=1")
    assert log.status_code == 200
    first = log.get_json()
    (entry,) = first["data"]
    assert entry["action"] == "connection.terms_changed" and entry["actor"].startswith("user admin")
    assert entry["before"] == {
        "ack_sla_hours": 24,
        "ship_sla_hours": 72,
        "safety_buffer": 0,
        "stale_after_minutes": 1440,
        "routing_priority": 100,
    }
    assert entry["after"] == {
        "ack_sla_hours": 12,
        "ship_sla_hours": 48,
        "safety_buffer": 3,
        "stale_after_minutes": 600,
        "routing_priority": 5,
    }
    second = retailer.api.get(f"/api/v1/audit-log?limit=1&cursor={first['next_cursor']}").get_json()
    (entry,) = second["data"]
    assert entry["actor"].startswith("API client ")
    assert (entry["before"], entry["after"]) == ({"routing_priority": 5}, {"routing_priority": 7})
    assert retailer.api.get(f"/api/v1/audit-log?cursor={second['next_cursor']}").get_json()["data"] == []

    # Another retailer's log is its own; the console shows this one's.
    assert network.retailers[1].api.get("/api/v1/audit-log").get_json()["data"] == []
    page = client.get("/console/audit-log").get_data(as_text=True)
    assert "connection.terms_changed" in page and "routing_priority: 7" in page
