"""EDI setup and invoices in the portal: the setup saved (secrets never shown), refused with the
field's reason, a changed host key confirmed; an invoice raised by hand, its differences listed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network.db import transaction
from network.trading.models import TradingPartner
from tests.order_helpers import place, po_of, stocked_item
from tests.portal.conftest import make_vendor_user, sign_in, submit

SETUP = {
    "isa_qualifier": "ZZ",
    "isa_id": "PORTALVENDOR",
    "version": "004010",
    "documents": ["850", "855", "856", "810", "997"],
    "host": "sftp.vendor.example",
    "port": "22",
    "username": "dropnet",
    "password": "very-secret-pw",
    "inbound_dir": "in",
    "outbound_dir": "out",
    "after_pull": "archive",
}


@pytest.fixture
def vendor(session, client, network):
    party = network.vendor
    sign_in(client, make_vendor_user(session, org_id=party.id))
    return party


def test_the_edi_setup_is_saved_refused_with_reasons_and_never_shows_the_password(client, session, vendor):
    assert "Set up EDI" in client.get("/portal/edi").get_data(as_text=True)
    bad = submit(client, "/portal/edi", {**SETUP, "isa_id": "", "port": "99999"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "1 to 15 letters" in text and "1 to 65535" in text
    assert session.scalar(sa.select(TradingPartner)) is None
    saved = submit(client, "/portal/edi", SETUP)
    assert saved.status_code == 302
    page = client.get("/portal/edi").get_data(as_text=True)
    assert "ZZ/PORTALVENDOR" in page and "sftp://dropnet@sftp.vendor.example:22" in page
    assert "very-secret-pw" not in page
    with transaction(session):
        session.scalar(sa.select(TradingPartner)).offered_host_key = "ssh-ed25519 AAAANEWKEY"
    assert "offered a different host key" in client.get("/portal/edi").get_data(as_text=True)
    assert submit(client, "/portal/edi/host-key", {}, page="/portal/edi").status_code == 302
    session.expire_all()
    assert session.scalar(sa.select(TradingPartner)).host_key == "ssh-ed25519 AAAANEWKEY"


def test_an_invoice_raised_by_hand_lists_its_differences(client, session, network, vendor):
    from decimal import Decimal

    _, sku = stocked_item(session, vendor, [network.retailer], 10, sku="LAMP-INV", cost=Decimal("4.00"))
    po_id = place(network.retailer, [(sku, 3)]).get_json()["purchase_orders"][0]["id"]
    line = po_of(vendor, po_id)["lines"][0]["id"]
    shipped = vendor.api.post(
        f"/vendor-api/v1/purchase-orders/{po_id}/shipments",
        json={"carrier": "UPS", "tracking_number": "1Z", "lines": [{"line_id": line, "quantity": 2}]},
    )
    assert shipped.status_code == 201
    form = client.get(f"/portal/invoices/new?po={po_id}").get_data(as_text=True)
    assert 'value="2"' in form and 'value="4"' in form  # shipped units and unit cost, prefilled
    action = f"/portal/invoices/new?po={po_id}"
    sent = submit(client, action, {"number": "P-1", f"quantity-{line}": "3", f"price-{line}": "4.50"})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    listed = client.get("/portal/invoices").get_data(as_text=True)
    assert "P-1" in listed and "3 units invoiced but 2 shipped" in listed and "unit price 4.50" in listed
    retailer_view = network.retailer.api.get("/api/v1/invoices").get_json()["data"]
    assert [i["number"] for i in retailer_view] == ["P-1"]
    again = submit(client, action, {"number": "P-1", f"quantity-{line}": "1", f"price-{line}": "4"})
    assert again.status_code == 422 and "already received" in again.get_data(as_text=True)
    other = network.vendors[1]
    assert other.api.get("/vendor-api/v1/invoices").get_json()["data"] == []
    stranger = client.application.test_client()
    sign_in(stranger, make_vendor_user(session, org_id=other.id))
    assert stranger.get(f"/portal/invoices/new?po={po_id}").status_code == 404
