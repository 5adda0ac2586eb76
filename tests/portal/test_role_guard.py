"""Every form of the portal checks the user's role on the server (forms posted directly): a viewer
reads only, an operator does the day-to-day, the organization's settings and team need an owner or
an admin. One rule for every POST, so a new form cannot forget it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.routing import PathConverter, UnicodeConverter

from network.db import transaction
from network.partners.models import User
from tests.order_helpers import place, stocked_item
from tests.portal.conftest import make_vendor_user, page_token, sign_in, submit
from vendor_portal.web import common


def as_role(session, role: str, org_id: int):
    user = make_vendor_user(session, org_id=org_id)
    with transaction(session):
        session.execute(sa.update(User).where(User.id == user.user_id).values(role=role))
    return user


def portal_posts(app) -> list[tuple[str, str]]:
    """(endpoint, a URL for it) of every POST the portal answers, but signing in and out and links."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("portal.") or "POST" not in rule.methods:
            continue
        if rule.endpoint in common._OWN_DOING:
            continue
        # Ids that exist nowhere: the role check comes before any lookup.
        values = {
            name: "x" if isinstance(conv, UnicodeConverter | PathConverter) else 1
            for name, conv in rule._converters.items()
        }
        found.append((rule.endpoint, rule.build(values, append_unknown=False)[1]))
    return sorted(found)


def test_the_role_rule_names_only_real_endpoints(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints >= common._OWN_DOING and endpoints >= common._MANAGING


def test_a_viewer_is_refused_every_form_of_the_portal(app, client, session, network):
    viewer = as_role(session, "viewer", network.vendor.id)
    sign_in(client, viewer)
    token = page_token(client, "/portal/purchase-orders")
    posts = portal_posts(app)
    assert len(posts) >= 20  # purchase orders, returns, stock, feeds, products, EDI, invoices, team…
    for endpoint, url in posts:
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 403, (endpoint, url, response.status_code)
        assert "Your role (Viewer) may not" in response.get_data(as_text=True), endpoint


def test_an_operator_does_the_day_to_day_but_not_the_settings(app, client, session, network):
    operator = as_role(session, "operator", network.vendor.id)
    sign_in(client, operator)
    token = page_token(client, "/portal/purchase-orders")
    for endpoint, url in portal_posts(app):
        response = client.post(url, data={"csrf_token": token})
        if endpoint in common._MANAGING:
            assert response.status_code == 403, (endpoint, url)
            assert "Your role (Operator) may not manage" in response.get_data(as_text=True)
        else:  # past the role check: the view answers (a 404 for ids that are not ours, a form error…)
            assert response.status_code != 403, (endpoint, url)


@pytest.fixture
def placed(session, network):
    vendor = network.vendor
    _, sku = stocked_item(session, vendor, [network.retailer], 10, sku="LAMP-ROLE", title="LED lamp")
    response = place(network.retailer, [(sku, 2)], reference="SHOP-ROLE")
    assert response.status_code == 201, response.get_data(as_text=True)
    (po,) = response.get_json()["purchase_orders"]
    return response.get_json()["id"], po["id"]


def po_status(retailer, order_id: int) -> str:
    order = retailer.api.get(f"/api/v1/orders/{order_id}").get_json()
    return order["lines"][0]["purchase_order_lines"][0]["status"]


def test_a_viewer_cannot_acknowledge_what_an_operator_can(client, session, network, placed):
    order_id, po_id = placed
    path = f"/portal/purchase-orders/{po_id}"
    sign_in(client, as_role(session, "viewer", network.vendor.id))
    assert submit(client, f"{path}/acknowledge", {}, page=path).status_code == 403
    assert po_status(network.retailer, order_id) == "open"

    submit(client, "/portal/logout", {}, page=path)
    sign_in(client, as_role(session, "operator", network.vendor.id))
    assert submit(client, f"{path}/acknowledge", {}, page=path).status_code == 302
    assert po_status(network.retailer, order_id) == "acknowledged"
