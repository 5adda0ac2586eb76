"""A vendor without an IT team, in a real browser (Playwright driving Debian's headless Chromium)
against the hub served by a real HTTP server: invite email -> sign-up -> CSV upload -> acknowledge
and ship the retailer's purchase order; the retailer API then shows the line shipped.

Screenshots of the main pages go to $PORTAL_SCREENSHOTS (docs/screenshots to refresh the README's),
else to the test's temporary directory. Without Chromium the test skips, except under CI
(REQUIRE_BROWSER=1), where it fails.
"""

from __future__ import annotations

import os
import re

import pytest

from network.extensions import db
from tests.builders import Api, issue_token, make_org
from tests.portal.conftest import body

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHIP_TO = {
    "name": "Ada Buyer",
    "address1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
CSV = "Item Number,Qty\nGARDEN-HOSE-25,40\nGARDEN-RAKE,12\nGARDEN-GLOVES,0\n"


def _chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    message = f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)"
    if os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_a_vendor_signs_up_from_the_email_uploads_stock_and_ships_the_order(live_hub, shots, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    app, base, mailbox = live_hub
    client = app.test_client()
    retailer = make_org(db.session, client, "retailer")

    # The retailer invites the vendor; the hub emails the link.
    invited = retailer.api.post(
        "/api/v1/vendor-invites",
        json={
            "email": "maria@garden-supply.example",
            "vendor_name": "Garden Supply",
            "terms": {"ack_sla_hours": 12},
        },
    )
    assert invited.status_code == 201, invited.get_data(as_text=True)
    link = re.search(
        r"http://127\.0\.0\.1:\d+/portal/invites/\S+", body(mailbox.last_to("maria@garden-supply.example"))
    )
    assert link, "the invite email has no link to this hub"

    csv_file = tmp_path / "stock.csv"
    csv_file.write_text(CSV)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        # The portal's Content-Security-Policy must not block anything its own pages use.
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

        # Sign-up from the link in the email.
        page.goto(link.group(0))
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"{retailer.name} invites Garden Supply")
        page.screenshot(path=str(shots / "invite.png"), full_page=True)
        signup = page.locator("form", has=page.get_by_role("heading", name="New to Dropnet?"))
        signup.get_by_label("Your company").fill("Garden Supply Co")
        signup.get_by_label("Your name").fill("Maria")
        signup.get_by_label("Password", exact=True).fill("Tomatoes-and-rakes-2024")
        signup.get_by_label("Repeat the password").fill("Tomatoes-and-rakes-2024")
        signup.get_by_role("button", name="Create the account and accept").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(page.locator("body")).to_contain_text("Garden Supply Co is connected")

        # API access: a client for the vendor's spreadsheet script, which creates the variants.
        page.get_by_role("link", name="API access").click()
        page.get_by_label("Name").fill("Spreadsheet script")
        page.get_by_role("button", name="Create the client").click()
        client_id = page.locator("dt:has-text('Client id') + dd code").inner_text()
        secret = page.locator("dt:has-text('Client secret') + dd code").inner_text()
        page.screenshot(path=str(shots / "api-access.png"), full_page=True)
        vendor_api = Api(client, issue_token(client, client_id, secret))
        for sku, title in (
            ("GARDEN-HOSE-25", "Garden hose 25 m"),
            ("GARDEN-RAKE", "Leaf rake"),
            ("GARDEN-GLOVES", "Gloves"),
        ):
            assert vendor_api.put(f"/vendor-api/v1/variants/{sku}", json={"title": title}).status_code == 201

        # Upload a CSV: the mapping preview first, then apply.
        page.get_by_role("link", name="Stock").click()
        page.get_by_role("link", name="Upload a CSV").click()
        page.get_by_label("CSV file").set_input_files(str(csv_file))
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#map_sku")).to_have_value("Item Number")
        expect(page.locator("#map_quantity")).to_have_value("Qty")
        expect(page.locator("body")).to_contain_text("3 rows read, 3 valid")
        page.screenshot(path=str(shots / "upload-preview.png"), full_page=True)
        page.get_by_role("button", name="Apply this file").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("applied")
        page.get_by_role("link", name="Stock").click()
        expect(page.locator("#qty-" + str(_variant_id(retailer, "GARDEN-HOSE-25")))).to_have_value("40")
        page.screenshot(path=str(shots / "stock.png"), full_page=True)

        # The retailer sells the hose and orders 3.
        hose = _variant_id(retailer, "GARDEN-HOSE-25")
        assert retailer.api.put(
            "/api/v1/items/HOSE-25", json={"sources": [{"vendor_variant_id": hose}]}
        ).status_code in (200, 201)
        placed = retailer.api.post(
            "/api/v1/orders",
            json={
                "reference": "SHOP-2001",
                "lines": [{"retailer_sku": "HOSE-25", "quantity": 3}],
                "ship_to": SHIP_TO,
            },
            headers={"Idempotency-Key": "browser-order-1"},
        )
        assert placed.status_code == 201, placed.get_data(as_text=True)
        order = placed.get_json()

        # The vendor acknowledges and ships it in the portal.
        page.get_by_role("link", name="Dashboard").click()
        expect(page.locator("body")).to_contain_text("SHOP-2001")
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
        page.get_by_role("link", name="Purchase orders").click()
        page.screenshot(path=str(shots / "purchase-orders.png"), full_page=True)
        page.get_by_role("link", name=re.compile(r"^PO-\d+$")).first.click()
        page.get_by_role("button", name="Acknowledge the purchase order").click()
        expect(page.locator("body")).to_contain_text("Acknowledged: the retailer is told you will ship.")
        page.get_by_label("Carrier").fill("DHL")
        page.get_by_label("Tracking number").fill("JD014600006281")
        page.get_by_role("button", name="Record the shipment").click()
        expect(page.locator("body")).to_contain_text("Shipment recorded")
        page.screenshot(path=str(shots / "purchase-order.png"), full_page=True)
        page.get_by_role("link", name="Packing slip").click()
        expect(page.get_by_role("heading", name="Packing slip")).to_be_visible()
        page.screenshot(path=str(shots / "packing-slip.png"), full_page=True)
        # portal.js runs under the policy: its handler, not an inline one, prints.
        page.evaluate("window.print = function () { window.printed = true; }")
        page.get_by_role("button", name="Print").click()
        assert page.evaluate("window.printed") is True
        assert blocked == []
        browser.close()

    # The retailer's API shows the line shipped.
    line = retailer.api.get(f"/api/v1/orders/{order['id']}").get_json()["lines"][0]
    (po_line,) = line["purchase_order_lines"]
    assert (po_line["status"], po_line["shipped"]) == ("shipped", 3)
    assert line["open"] == 0


def _variant_id(retailer, sku: str) -> int:
    variants = retailer.api.get("/api/v1/catalog/vendor-variants?limit=1000").get_json()["data"]
    return next(v["id"] for v in variants if v["vendor_sku"] == sku)
