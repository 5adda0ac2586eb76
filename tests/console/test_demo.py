"""`hub demo` seeds a network a new user can look around in: no console page is empty."""

from __future__ import annotations

import json
import re

from tests.portal.conftest import submit


def _signed_in(app):
    result = app.test_cli_runner().invoke(args=["hub", "demo", "--json"])
    assert result.exit_code == 0, result.output
    demo = json.loads(result.output)
    assert {"id", "name", "client_id", "client_secret", "console_email", "console_password"} <= set(
        demo["retailers"][0]
    )
    retailer = demo["retailers"][0]
    browser = app.test_client()
    response = submit(
        browser,
        "/console/login",
        {"email": retailer["console_email"], "password": retailer["console_password"]},
    )
    assert response.status_code == 302
    return browser


def _text(browser, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, path
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_demo_retailer_finds_orders_shipments_a_flag_and_work_in_every_console_page(app):
    browser = _signed_in(app)

    home = _text(browser, "/console")
    assert "ack_overdue" in home and "HHS-1003" in home and "Acme Office Supply" in home
    assert re.search(r"5\d min", home), "the flag was raised when the acknowledgement fell due, ~55 min ago"

    orders = _text(browser, "/console/orders")
    for reference in ("HHS-1001", "HHS-1002", "HHS-1003", "HHS-1004"):
        assert reference in orders
    order_id = re.search(r'href="/console/orders/(\d+)">HHS-1002<', orders).group(1)
    order = _text(browser, f"/console/orders/{order_id}")
    assert 'href="https://www.fedex.com/fedextrack/?trknbr=' in order  # the tent went by FedEx
    assert "partially shipped" in order  # the sleeping bags wait
    shipped = _text(browser, "/console/orders/" + re.search(r'(\d+)">HHS-1001<', orders).group(1))
    assert 'href="https://www.ups.com/track?tracknum=1Z' in shipped

    matches = _text(browser, "/console/catalog/gtin-matches")
    assert "LANTERN-LED" in matches and "BRO-LANTERN" in matches
    unmapped = _text(browser, "/console/catalog/unmapped-items")
    assert "HAMMOCK" in unmapped
    assert "BRO-MUG" in _text(browser, "/console/catalog/unmapped-variants")

    vendors = _text(browser, "/console/vendors")
    assert "Summit Gear" in vendors and "pending" in vendors
    assert "ack 2 h" in vendors  # Acme's terms, changed
    team = _text(browser, "/console/team")
    assert "Viewer" in team and "Demo colleague" in team
    audit = _text(browser, "/console/audit-log")
    for action in ("vendor_invite.sent", "connection.terms_changed", "catalog.mappings_imported"):
        assert action in audit
    assert "Acme Office Supply" in _text(browser, "/console/availability/PAPER-A4-BOX")
