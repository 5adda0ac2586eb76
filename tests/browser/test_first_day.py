"""The whole first day of a new network, in real browsers (Playwright, Debian's headless Chromium)
against the hub behind a real HTTP server, each person in a browser context of their own:

1. an operator opens the retailer (`hub create-retailer`); its owner follows the emailed link and
   chooses a password;
2. the owner invites a vendor from the console's Vendors page; the vendor accepts in the portal;
3. the vendor's stock arrives as the portal's CSV upload (its unknown SKUs created from the same
   file, GTINs included);
4. the owner imports the retailer's item list (SKU, title, GTIN) and takes the GTIN auto-match's
   suggestions, then creates an API client on Developers;
5. an order placed through the retailer API is on the console's Orders page;
6. the vendor acknowledges and ships it with a UPS tracking number in the portal;
7. the order page shows the shipment and the carrier's tracking link;
8. a colleague invited on the Team page and made a viewer cannot change the terms: no form, and a
   direct POST is refused with 403, the terms unchanged.

Each step asserts what the person sees, so the test fails wherever the day breaks.
"""

from __future__ import annotations

import re

import pytest

from network.catalog.gtin import gtin_check_digit
from network.extensions import db
from tests.browser.test_portal_flow import ARGS, SHIP_TO, _chromium
from tests.builders import Api, issue_token
from tests.portal.conftest import body

pytestmark = pytest.mark.browser

OWNER = "olivia@lakeside.example"
VENDOR = "victor@pinecraft.example"
VIEWER = "vera@lakeside.example"
PASSWORDS = {OWNER: "Lakeside-shelves-2026", VENDOR: "Pine-and-oak-2026", VIEWER: "Read-only-reader-2026"}
TRACKING = "1Z999AA10123456784"


def _gtin(n: int) -> str:
    digits = f"0{n:011d}"
    return digits + str(gtin_check_digit(digits))


# The vendor's products and the retailer's items share GTINs, not SKUs.
PRODUCTS = [("PC-SHELF-80", "Pine shelf 80 cm", _gtin(7001), 15), ("PC-STOOL", "Oak stool", _gtin(7002), 8)]
ITEMS = [("SHELF-80", "Pine shelf 80 cm", _gtin(7001)), ("STOOL-OAK", "Oak stool", _gtin(7002))]
STOCK_CSV = "sku,title,gtin,quantity\n" + "".join(f"{s},{t},{g},{q}\n" for s, t, g, q in PRODUCTS)
ITEMS_CSV = "retailer_sku,title,gtin\n" + "".join(f"{s},{t},{g}\n" for s, t, g in ITEMS)


def _link(mailbox, address: str, path: str) -> str:
    found = re.search(rf"http://127\.0\.0\.1:\d+/{path}/\S+", body(mailbox.last_to(address)))
    assert found, f"the email to {address} has no /{path}/ link to this hub"
    return found.group(0)


def test_the_first_day_of_a_new_network(live_hub, shots, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    app, base, mailbox = live_hub
    stock_file, items_file = tmp_path / "stock.csv", tmp_path / "items.csv"
    stock_file.write_text(STOCK_CSV)
    items_file.write_text(ITEMS_CSV)

    # 1. The operator opens the retailer.
    made = app.test_cli_runner().invoke(
        args=["hub", "create-retailer", "--name", "Lakeside Living", "--owner-email", OWNER]
    )
    assert made.exit_code == 0, made.output

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=ARGS, headless=True)
        blocked: list[str] = []

        def person():
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on(
                "console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None
            )
            return page

        owner, vendor, viewer = person(), person(), person()
        body_of = {p: p.locator("body") for p in (owner, vendor, viewer)}

        owner.goto(_link(mailbox, OWNER, "console/activate"))
        expect(owner.get_by_role("heading", level=1)).to_have_text("Activate your account")
        owner.get_by_label("Password", exact=True).fill(PASSWORDS[OWNER])
        owner.get_by_label("Repeat the password").fill(PASSWORDS[OWNER])
        owner.get_by_role("button", name="Activate").click()
        expect(owner.get_by_role("heading", name="What needs a decision")).to_be_visible()
        expect(owner.locator("header .who")).to_contain_text("Lakeside Living · owner")

        # 2. The owner invites the vendor; the vendor accepts from the email with a new account.
        owner.get_by_role("navigation", name="Main").get_by_role("link", name="Vendors").click()
        expect(body_of[owner]).to_contain_text("You are not connected to any vendor yet.")
        owner.get_by_label("The vendor's email").fill(VENDOR)
        owner.get_by_label("The vendor's name").fill("Pinecraft")
        owner.get_by_role("button", name="Invite the vendor").click()
        expect(body_of[owner]).to_contain_text(f"Invite sent to {VENDOR}.")
        invites = owner.locator("table", has=owner.get_by_role("columnheader", name="Link valid until"))
        expect(invites).to_contain_text("Pinecraft")

        vendor.goto(_link(mailbox, VENDOR, "portal/invites"))
        expect(vendor.get_by_role("heading", level=1)).to_contain_text("Lakeside Living invites Pinecraft")
        signup = vendor.locator("form", has=vendor.get_by_role("heading", name="New to Dropnet?"))
        signup.get_by_label("Your company").fill("Pinecraft Ltd")
        signup.get_by_label("Your name").fill("Victor")
        signup.get_by_label("Password", exact=True).fill(PASSWORDS[VENDOR])
        signup.get_by_label("Repeat the password").fill(PASSWORDS[VENDOR])
        signup.get_by_role("button", name="Create the account and accept").click()
        expect(vendor.get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(body_of[vendor]).to_contain_text("Pinecraft Ltd is connected")

        owner.reload()
        connection = owner.get_by_role("row", name=re.compile("Pinecraft Ltd"))
        expect(connection).to_contain_text("ack 24 h")
        expect(connection.get_by_role("link", name="Edit terms")).to_be_visible()
        expect(body_of[owner]).to_contain_text("No invite is waiting for an answer.")

        # 3. The vendor's stock arrives: one CSV upload, its new SKUs created from the same file.
        vendor.get_by_role("link", name="Stock", exact=True).click()
        vendor.get_by_role("link", name="Upload a CSV").click()
        vendor.get_by_label("CSV file").set_input_files(str(stock_file))
        vendor.get_by_role("button", name="Preview").click()
        expect(vendor.locator("#unknown-skus")).to_contain_text(
            "2 SKUs of this file are not in your catalog yet"
        )
        vendor.get_by_role("link", name="Create them from this file").click()
        expect(vendor.locator("#catalog-summary")).to_contain_text("2 rows read: 2 new")
        vendor.get_by_role("button", name="Import this file").click()
        expect(body_of[vendor]).to_contain_text("2 product(s) created")
        vendor.get_by_role("button", name="Apply this file").click()
        expect(vendor.get_by_role("heading", level=1)).to_contain_text("applied")
        vendor.get_by_role("link", name="Stock", exact=True).click()
        expect(vendor.get_by_role("row", name=re.compile("PC-SHELF-80"))).to_contain_text(PRODUCTS[0][2])

        # 4. The owner's items, then their sources by GTIN auto-match.
        owner.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
        owner.get_by_role("link", name="Import a CSV").click()
        owner.get_by_label("CSV file").set_input_files(str(items_file))
        owner.get_by_role("button", name="Preview").click()
        expect(body_of[owner]).to_contain_text("2 rows would apply: 2 new item(s)")
        owner.get_by_role("button", name="Apply this file").click()
        expect(body_of[owner]).to_contain_text("2 item(s) created")
        owner.get_by_role("link", name="GTIN auto-match").click()
        suggestions = owner.locator("table.grid")
        expect(suggestions.get_by_role("row")).to_have_count(3)  # the header and both items
        expect(owner.get_by_role("row", name=re.compile("SHELF-80"))).to_contain_text(
            "Pinecraft Ltd · PC-SHELF-80"
        )
        expect(owner.get_by_role("row", name=re.compile("STOOL-OAK"))).to_contain_text(
            "Pinecraft Ltd · PC-STOOL"
        )
        owner.get_by_role("button", name="Accept the checked sources").click()
        expect(body_of[owner]).to_contain_text("No suggestions")
        owner.get_by_role("link", name="Unmapped items").click()
        expect(body_of[owner]).not_to_contain_text("SHELF-80")
        owner.get_by_role("navigation", name="Main").get_by_role("link", name="Availability").click()
        owner.get_by_role("searchbox").fill("Pine shelf")
        owner.get_by_role("button", name="Search").click()
        found = owner.locator("main table")
        expect(found.get_by_role("row")).to_have_count(2)  # the header and the shelf
        expect(found.get_by_role("row", name=re.compile("SHELF-80"))).to_contain_text("15")

        owner.get_by_role("navigation", name="Main").get_by_role("link", name="Developers").click()
        owner.get_by_label("Name").fill("Storefront")
        for scope in ("orders:read", "orders:write"):
            owner.get_by_label(re.compile(f"^{scope} ")).check()
        owner.get_by_role("button", name="Create the client").click()
        client_id = owner.locator("dt:has-text('Client id') + dd code").inner_text()
        secret = owner.locator("dt:has-text('Client secret') + dd code").inner_text()

        # 5. The storefront places an order through the retailer API; the console lists it.
        client = app.test_client()
        api = Api(client, issue_token(client, client_id, secret))
        placed = api.post(
            "/api/v1/orders",
            json={
                "reference": "LAKE-1001",
                "lines": [{"retailer_sku": "SHELF-80", "quantity": 2}],
                "ship_to": SHIP_TO,
            },
            headers={"Idempotency-Key": "first-day-order"},
        )
        assert placed.status_code == 201, placed.get_data(as_text=True)
        owner.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
        row = owner.get_by_role("row", name=re.compile("LAKE-1001"))
        expect(row).to_contain_text("Pinecraft Ltd")
        row.get_by_role("link", name="LAKE-1001").click()
        expect(owner.get_by_role("heading", level=1)).to_have_text("Order LAKE-1001")
        expect(body_of[owner]).to_contain_text("Nothing shipped yet.")

        # 6. The vendor ships it with tracking.
        vendor.get_by_role("link", name="Purchase orders").click()
        vendor.get_by_role("link", name=re.compile(r"^PO-\d+$")).first.click()
        expect(body_of[vendor]).to_contain_text("LAKE-1001")
        vendor.get_by_role("button", name="Acknowledge the purchase order").click()
        expect(body_of[vendor]).to_contain_text("Acknowledged")
        vendor.get_by_label("Carrier").fill("UPS")
        vendor.get_by_label("Tracking number").fill(TRACKING)
        vendor.get_by_role("button", name="Record the shipment").click()
        expect(body_of[vendor]).to_contain_text("Shipment recorded")

        # 7. The owner sees the shipment and the carrier's tracking page.
        owner.reload()
        shipments = owner.locator("table", has=owner.get_by_role("columnheader", name="Tracking number"))
        expect(shipments).to_contain_text("Pinecraft Ltd")
        expect(shipments).to_contain_text("UPS")
        expect(shipments.get_by_role("link", name=TRACKING)).to_have_attribute(
            "href", f"https://www.ups.com/track?tracknum={TRACKING}"
        )
        lines = owner.locator("table", has=owner.get_by_role("columnheader", name="Ordered"))
        expect(lines.get_by_role("row", name=re.compile("SHELF-80"))).to_contain_text("shipped")
        owner.screenshot(path=str(shots / "first-day-order.png"), full_page=True)

        # 8. A colleague joins from the Team page's invite and is made a viewer.
        owner.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
        owner.get_by_label("Email").fill(VIEWER)
        owner.get_by_role("button", name="Send the invite").click()
        expect(body_of[owner]).to_contain_text(f"Invite sent to {VIEWER}.")
        viewer.goto(_link(mailbox, VIEWER, "console/invites"))
        expect(viewer.get_by_role("heading", level=1)).to_have_text("Join Lakeside Living")
        viewer.get_by_label("Your name").fill("Vera")
        viewer.get_by_label("Password", exact=True).fill(PASSWORDS[VIEWER])
        viewer.get_by_label("Repeat the password").fill(PASSWORDS[VIEWER])
        viewer.get_by_role("button", name="Join").click()
        expect(viewer.locator("header .who")).to_contain_text("Lakeside Living · operator")
        owner.reload()
        member = owner.get_by_role("row", name=re.compile(re.escape(VIEWER)))
        member.get_by_label(f"Role of {VIEWER}").select_option(label="Viewer")
        member.get_by_role("button", name="Change the role").click()
        expect(body_of[owner]).to_contain_text(f"{VIEWER} is now viewer.")

        # The viewer reads the terms but has no form, and a forged POST changes nothing.
        viewer.goto(base + "/console")
        expect(viewer.locator("header .who")).to_contain_text("Lakeside Living · viewer")
        viewer.get_by_role("navigation", name="Main").get_by_role("link", name="Vendors").click()
        expect(viewer.get_by_role("button", name="Invite the vendor")).to_have_count(0)
        viewer.get_by_role("link", name="Terms", exact=True).click()
        expect(viewer.get_by_role("heading", level=1)).to_have_text("Terms with Pinecraft Ltd")
        expect(body_of[viewer]).to_contain_text("Only an owner or an admin may change these terms.")
        expect(viewer.locator("main form")).to_have_count(0)
        expect(viewer.get_by_role("button", name="Save the terms")).to_have_count(0)
        terms_url = viewer.url
        token = viewer.locator("header input[name=csrf_token]").input_value()  # the sign-out form's
        forged = viewer.request.post(
            terms_url,
            form={
                "csrf_token": token,
                "ack_sla_hours": "1",
                "ship_sla_hours": "1",
                "safety_buffer": "0",
                "stale_after_minutes": "1",
                "routing_priority": "0",
                "status": "paused",
            },
            max_redirects=0,
        )
        assert forged.status == 403, forged.text()
        viewer.reload()
        terms = viewer.locator("main dl")
        expect(terms).to_contain_text("active")
        expect(terms).not_to_contain_text("paused")

        # The owner still finds the terms as they were, and the form to change them.
        owner.goto(terms_url)
        expect(owner.get_by_label("Status")).to_have_value("active")
        expect(owner.get_by_role("button", name="Save the terms")).to_be_visible()
        assert blocked == []
        browser.close()

    # What the storefront reads agrees with what the people saw.
    order = api.get(f"/api/v1/orders/{placed.get_json()['id']}").get_json()
    (po_line,) = order["lines"][0]["purchase_order_lines"]
    assert (po_line["status"], po_line["shipped"]) == ("shipped", 2)
    db.session.remove()
