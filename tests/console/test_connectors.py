"""The console's Connectors pages: connect a store, its health, pause/resume, credentials that never
come back, the drift report against a local Shopify-shaped store and "repair now", by role."""

from __future__ import annotations

import re

import pytest

from network.connectors.models import Connector
from network.partners.audit import AuditEntry
from tests.builders import make_item, make_variant
from tests.connectors.fake_stores import FakeShopify
from tests.connectors.helpers import SHOPIFY_CREDENTIALS, connect_store
from tests.console.test_vendors import sign_in_as
from tests.order_helpers import set_stock
from tests.portal.conftest import csrf_of, fresh, submit
from tests.portal.test_query_counts import queries

SHOPIFY_FORM = {
    "platform": "shopify",
    "shop_url": "https://dropnet-test.myshopify.com",
    "location_id": "1",
    "buffer": "2",
    "max_quantity": "",
    **SHOPIFY_CREDENTIALS,
    "consumer_key": "",
    "consumer_secret": "",
}


@pytest.fixture
def shopify():
    store = FakeShopify()
    store.url = store.start()
    yield store
    store.stop()


@pytest.fixture
def local_stores(app):
    app.config["HUB_CONNECTOR_ALLOW_HTTP_HOSTS"] = "127.0.0.1"


def _connectors(session, retailer_id: int) -> list[Connector]:
    fresh(session)
    rows = session.query(Connector).filter_by(retailer_id=retailer_id).order_by(Connector.id).all()
    session.rollback()
    return rows


def _audit(session, org_id: int) -> list[AuditEntry]:
    fresh(session)
    rows = session.query(AuditEntry).filter_by(org_id=org_id).order_by(AuditEntry.id).all()
    session.rollback()
    return rows


def _token(client) -> str:
    return csrf_of(client.get("/console/connectors").get_data(as_text=True))


def test_an_admin_connects_a_store_whose_credentials_are_never_shown_back(client, session, network):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "admin")
    page = client.get("/console/connectors")
    assert page.status_code == 200 and "No store is connected." in page.get_data(as_text=True)
    assert 'href="/console/connectors" aria-current="page">Connectors' in page.get_data(as_text=True)

    created = submit(client, "/console/connectors", SHOPIFY_FORM)
    assert created.status_code == 201, created.get_data(as_text=True)
    html = created.get_data(as_text=True)
    (connector,) = _connectors(session, retailer.id)
    assert f"http://hub.test/hooks/shopify/{connector.id}" in html and "orders/create" in html
    assert (connector.platform, connector.location_id, connector.buffer) == ("shopify", "1", 2)
    for secret in SHOPIFY_CREDENTIALS.values():
        assert secret not in html and secret not in connector.credentials_sealed
        assert secret not in client.get(f"/console/connectors/{connector.id}").get_data(as_text=True)
    # The API shows the same connector; the audit log says who connected it, without the secrets.
    (shown,) = retailer.api.get("/api/v1/connectors").get_json()["data"]
    assert shown["id"] == connector.id
    (entry,) = _audit(session, retailer.id)
    assert entry.action == "connector.created" and entry.actor.startswith("user admin")
    assert entry.after["shop_url"] == "https://dropnet-test.myshopify.com"
    assert "shpat_test_token" not in str(entry.after)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook_secret": ""}, "required for shopify"),
        ({"shop_url": "http://dropnet-test.myshopify.com"}, "use https"),
        ({"shop_url": "https://127.0.0.1"}, "private, loopback or reserved"),
        ({"buffer": "-1"}, "Number must be"),
        ({"platform": "magento"}, "Not a valid choice"),
    ],
)
def test_a_bad_store_is_refused_on_the_form_and_nothing_is_created(client, session, network, change, message):
    sign_in_as(client, session, network.retailer.id, "owner")
    refused = submit(client, "/console/connectors", {**SHOPIFY_FORM, **change})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert "shpat_test_token" not in html  # what was typed is not sent back either
    assert _connectors(session, network.retailer.id) == []
    assert _audit(session, network.retailer.id) == []


def test_an_operator_pauses_and_resumes_but_may_not_connect_change_or_delete(client, session, network):
    retailer = network.retailer
    connector = connect_store(retailer)
    sign_in_as(client, session, retailer.id, "operator")
    page = client.get(f"/console/connectors/{connector['id']}").get_data(as_text=True)
    assert "Pause" in page and "Disconnect" not in page and "Only an owner or an admin" in page
    assert "Connect the store" not in client.get("/console/connectors").get_data(as_text=True)

    token = _token(client)
    paused = client.post(f"/console/connectors/{connector['id']}/pause", data={"csrf_token": token})
    assert paused.status_code == 302
    assert retailer.api.get(f"/api/v1/connectors/{connector['id']}").get_json()["status"] == "paused"
    assert "Resume" in client.get(f"/console/connectors/{connector['id']}").get_data(as_text=True)
    resumed = client.post(f"/console/connectors/{connector['id']}/resume", data={"csrf_token": token})
    assert resumed.status_code == 302
    assert retailer.api.get(f"/api/v1/connectors/{connector['id']}").get_json()["status"] == "active"

    for path, data in (
        ("/console/connectors", SHOPIFY_FORM),
        (f"/console/connectors/{connector['id']}", {**SHOPIFY_FORM, "buffer": "9"}),
        (f"/console/connectors/{connector['id']}/delete", {}),
    ):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403
    (still,) = _connectors(session, retailer.id)
    assert still.buffer is None  # automatic, as the API created it
    actions = [e.action for e in _audit(session, retailer.id)]
    assert actions == ["connector.created", "connector.paused", "connector.resumed"]


def test_a_viewer_reads_but_every_post_answers_403(client, session, network):
    retailer = network.retailer
    connector = connect_store(retailer)
    sign_in_as(client, session, retailer.id, "viewer")
    page = client.get(f"/console/connectors/{connector['id']}")
    assert page.status_code == 200 and "Pause" not in page.get_data(as_text=True)
    token = _token(client)
    for action in ("pause", "resume", "repair", "delete"):
        response = client.post(f"/console/connectors/{connector['id']}/{action}", data={"csrf_token": token})
        assert response.status_code == 403, action
    assert [c.status for c in _connectors(session, retailer.id)] == ["active"]


def test_another_retailers_connector_is_not_found(client, session, network):
    first, second = network.retailers
    theirs = connect_store(second, shop_url="https://theirs.myshopify.com")
    sign_in_as(client, session, first.id, "owner")
    base = f"/console/connectors/{theirs['id']}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/drift").status_code == 404
    token = _token(client)
    for path in (base, f"{base}/pause", f"{base}/resume", f"{base}/repair", f"{base}/delete"):
        assert client.post(path, data={"csrf_token": token, **SHOPIFY_FORM}).status_code == 404, path
    (still,) = _connectors(session, second.id)
    assert (still.status, still.buffer) == ("active", None)
    assert theirs["shop_url"] not in client.get("/console/connectors").get_data(as_text=True)


def test_an_admin_changes_settings_and_credentials_and_disconnects(client, session, network):
    retailer = network.retailer
    connector = connect_store(retailer)
    sealed = _connectors(session, retailer.id)[0].credentials_sealed
    sign_in_as(client, session, retailer.id, "admin")
    path = f"/console/connectors/{connector['id']}"
    form = {"shop_url": connector["shop_url"], "location_id": "", "buffer": "3", "max_quantity": "40"}

    # Blank credentials keep the current ones.
    assert submit(client, path, {**form, "access_token": "", "webhook_secret": ""}).status_code == 302
    (saved,) = _connectors(session, retailer.id)
    assert (saved.buffer, saved.max_quantity, saved.credentials_sealed) == (3, 40, sealed)
    # Only one of the two: refused, nothing changes.
    half = submit(client, path, {**form, "buffer": "5", "access_token": "shpat_new"})
    assert half.status_code == 422 and "required for shopify" in half.get_data(as_text=True)
    assert _connectors(session, retailer.id)[0].buffer == 3
    # Both: sealed anew, never shown, logged as changed without values.
    new = {"access_token": "shpat_new", "webhook_secret": "new-hook-secret"}
    assert submit(client, path, {**form, **new}).status_code == 302
    assert _connectors(session, retailer.id)[0].credentials_sealed != sealed
    assert "shpat_new" not in client.get(path).get_data(as_text=True)
    entries = _audit(session, retailer.id)
    assert [e.action for e in entries] == ["connector.created", "connector.changed", "connector.changed"]
    assert entries[1].before == {"buffer": None, "max_quantity": None}
    assert entries[1].after == {"buffer": 3, "max_quantity": 40}
    assert entries[2].after == {"credentials": "(changed)"} and "shpat_new" not in str(entries[2].after)

    deleted = client.post(f"{path}/delete", data={"csrf_token": _token(client)})
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/console/connectors"
    assert _connectors(session, retailer.id) == []
    assert _audit(session, retailer.id)[-1].action == "connector.deleted"


def test_api_changes_to_a_connector_are_audited_under_the_api_client(network, session):
    retailer = network.retailer
    connector = connect_store(retailer)
    url = f"/api/v1/connectors/{connector['id']}"
    assert retailer.api.patch(url, json={"status": "paused"}).status_code == 200
    assert retailer.api.patch(url, json={"credentials": SHOPIFY_CREDENTIALS}).status_code == 200
    assert retailer.api.delete(url).status_code == 204
    entries = _audit(session, retailer.id)
    assert [e.action for e in entries] == [
        "connector.created",
        "connector.paused",
        "connector.changed",
        "connector.deleted",
    ]
    assert all(e.actor.startswith("API client ") for e in entries)
    assert entries[2].after == {"credentials": "(changed)"}


def test_the_list_shows_each_store_s_health_in_the_same_few_queries(client, session, network):
    retailer = network.retailer
    connect_store(retailer)
    sign_in_as(client, session, retailer.id, "viewer")
    few = queries(client, "/console/connectors")
    for n in range(4):
        connect_store(retailer, "woocommerce", shop_url=f"https://shop{n}.example.com")
    variant = make_variant(session, network.vendor)
    make_item(session, retailer, [variant], sku="LAMP")
    set_stock(session, network.vendor, variant, 5)  # an availability change every store still owes
    many = queries(client, "/console/connectors")
    assert few == many and many <= 8
    html = client.get("/console/connectors").get_data(as_text=True)
    # Each store's backlog: the availability changes it has not sent yet, as the API counts them.
    backlogs = {c["health"]["backlog"] for c in retailer.api.get("/api/v1/connectors").get_json()["data"]}
    assert len(backlogs) == 1 and (backlog := backlogs.pop()) > 0
    assert html.count(f"<td>{backlog}</td>\n  </tr>") == 5


def test_the_drift_report_reads_the_store_and_repair_now_sets_it_again(
    client, session, network, shopify, local_stores
):
    from network.clock import utcnow
    from network.connectors.http import Transport
    from network.connectors.sync import Clients, sync_connector
    from network.extensions import db
    from network.feeds.credentials import Credentials

    retailer, vendor = network.retailer, network.vendor
    lamp = make_variant(session, vendor)
    make_item(session, retailer, [lamp], sku="LAMP")
    shopify.add_variant("LAMP", 7)
    connector = connect_store(retailer, shop_url=shopify.url, location_id="1")
    set_stock(session, vendor, lamp, 5)
    sync_connector(db.session, Clients(Credentials("test-secret"), Transport), connector["id"], now=utcnow())
    assert shopify.available_of("LAMP") == 5
    shopify.levels["gid://shopify/InventoryItem/7"] = 40  # the merchant typed a figure in the admin

    sign_in_as(client, session, retailer.id, "operator")
    drift = f"/console/connectors/{connector['id']}/drift"
    page = client.get(drift)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<td>LAMP</td><td>40</td>" in html and "Repair now" in html

    repaired = client.post(
        f"/console/connectors/{connector['id']}/repair", data={"csrf_token": csrf_of(html)}
    )
    assert repaired.status_code == 302
    assert shopify.available_of("LAMP") == 5
    after = client.get(drift).get_data(as_text=True)
    assert "1 listing(s) set again on the store." in after and "No drift" in after
    assert _audit(session, retailer.id)[-1].action == "connector.repaired"

    # The store refuses the token: the page says so (502), nothing breaks.
    shopify.token = "revoked"
    refused = client.get(drift)
    assert refused.status_code == 502 and "The store could not be read" in refused.get_data(as_text=True)
    again = client.post(f"/console/connectors/{connector['id']}/repair", data={"csrf_token": csrf_of(after)})
    assert again.status_code == 302
    assert "The repair did not finish" in client.get(drift).get_data(as_text=True)
    listed = client.get("/console/connectors").get_data(as_text=True)
    assert "drift check" in listed  # the connector's last error, on the list


def test_a_blank_buffer_is_automatic_and_a_typed_zero_is_an_explicit_zero(client, session, network):
    """Issue 18: a connector's buffer left blank is automatic (null), on the form as on the API;
    saving an automatic connector's settings keeps it automatic; 0 typed in holds nothing back."""
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "admin")
    page = client.get("/console/connectors").get_data(as_text=True)
    assert "Blank: automatic" in page
    assert submit(client, "/console/connectors", {**SHOPIFY_FORM, "buffer": ""}).status_code == 201
    (created,) = _connectors(session, retailer.id)
    assert created.buffer is None
    # An automatic connector shows a blank buffer, and saving it unchanged keeps it automatic.
    path = f"/console/connectors/{created.id}"
    detail = client.get(path).get_data(as_text=True)
    (tag,) = re.findall(r"<input[^>]*name=\"buffer\"[^>]*>", detail)
    assert not re.search(r'value="[^"]', tag), tag  # blank, not "0"
    form = {"shop_url": created.shop_url, "location_id": "1", "buffer": "", "max_quantity": ""}
    assert submit(client, path, form).status_code == 302
    assert _connectors(session, retailer.id)[0].buffer is None
    assert [e.action for e in _audit(session, retailer.id)] == ["connector.created"]  # nothing moved
    # A typed 0 is an explicit 0; blank again is automatic again.
    assert submit(client, path, {**form, "buffer": "0"}).status_code == 302
    assert _connectors(session, retailer.id)[0].buffer == 0
    assert submit(client, path, {**form, "buffer": ""}).status_code == 302
    assert _connectors(session, retailer.id)[0].buffer is None
    changes = [(e.before, e.after) for e in _audit(session, retailer.id)[1:]]
    assert changes == [({"buffer": None}, {"buffer": 0}), ({"buffer": 0}, {"buffer": None})]
