"""A retailer's invite reaches a real SMTP server; the vendor follows the link from the email it got."""

from __future__ import annotations

import re

from network.extensions import db
from tests.builders import make_org
from tests.portal.conftest import body, link_in, page_token


def test_the_invited_vendor_follows_the_emailed_link_and_becomes_connected(app, client, session, mailbox):
    retailer = make_org(session, client, "retailer")
    response = retailer.api.post(
        "/api/v1/vendor-invites",
        json={
            "email": "Owner@Small-Vendor.example",
            "vendor_name": "Small Vendor",
            "terms": {"ack_sla_hours": 12, "ship_sla_hours": 48, "safety_buffer": 2},
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    invite = response.get_json()
    assert invite["status"] == "pending"
    assert invite["email_sent"] is True
    assert not any("token" in key for key in invite)

    message = mailbox.last_to("owner@small-vendor.example")
    assert retailer.name in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    html = body(message, "html")
    link = link_in(message)
    assert link in html  # the same link in both parts
    assert "Acknowledge purchase orders within: 12 hours" in body(message)

    # A fresh browser opens the link: a page naming the retailer and the terms.
    browser = app.test_client()
    page = browser.get(link)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"{retailer.name} invites Small Vendor" in text
    assert "48 hours" in text

    token = page_token(browser, link)
    signed_up = browser.post(
        link + "/signup",
        data={
            "csrf_token": token,
            "organization_name": "Small Vendor Ltd",
            "name": "Olga Owner",
            "email": "owner@small-vendor.example",
            "password": "Spreadsheet-and-a-warehouse-1",
            "confirm": "Spreadsheet-and-a-warehouse-1",
        },
    )
    assert signed_up.status_code == 302
    dashboard = browser.get("/portal/dashboard").get_data(as_text=True)
    assert "Small Vendor Ltd" in dashboard
    assert re.search(rf"{re.escape(retailer.name)}</td>\s*<td><span class=\"badge badge-active\">", dashboard)

    # The retailer sees the connection with the invite's terms, and the invite as accepted.
    db.session.remove()
    connections = retailer.api.get("/api/v1/connections").get_json()["data"]
    (conn,) = connections
    assert conn["vendor_name"] == "Small Vendor Ltd"
    assert (conn["ack_sla_hours"], conn["ship_sla_hours"], conn["safety_buffer"]) == (12, 48, 2)
    assert conn["status"] == "active"
    (listed,) = retailer.api.get("/api/v1/vendor-invites").get_json()["data"]
    assert listed["status"] == "accepted"

    # The link worked once.
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert 'name="password"' not in again.get_data(as_text=True)
