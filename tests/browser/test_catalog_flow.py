"""A portal-only vendor, in a real browser (Playwright, Debian's headless Chromium) against the hub
served by a real HTTP server: it accepts a retailer's invite, imports a catalog CSV of 20 products,
uploads their stock, refuses one purchase-order line for lack of stock (the product goes on hold for
every retailer), ships the other with tracking; a second upload with a misplaced period (12 -> 1200)
is held, not applied, until the vendor confirms it. No API client is ever created for the vendor.
"""

from __future__ import annotations

import re

import pytest

from network.extensions import db
from tests.browser.test_portal_flow import ARGS, SHIP_TO, _chromium
from tests.builders import Party, connect, make_org
from tests.portal.conftest import body

pytestmark = pytest.mark.browser

PRODUCTS = [(f"TENT-{n:02d}", f"Tent model {n}") for n in range(1, 21)]
CATALOG = "sku,title,cost,msrp,map_price,description,image_urls,weight,color\n" + "".join(
    f"{sku},{title},{50 + n}.00,{120 + n}.00,{99 + n}.00,Sleeps {n % 4 + 1},https://img.example.com/{sku}.jpg,"
    f"{2 + n / 10:.1f},green\n"
    for n, (sku, title) in enumerate(PRODUCTS, start=1)
)
STOCK = "sku,quantity\n" + "".join(f"{sku},12\n" for sku, _ in PRODUCTS)
SLIP = STOCK.replace("TENT-07,12", "TENT-07,1200").replace("TENT-08,12", "TENT-08,11")


def _variants(retailer) -> dict[str, int]:
    data = retailer.api.get("/api/v1/catalog/vendor-variants?limit=1000").get_json()["data"]
    return {v["vendor_sku"]: v["id"] for v in data}


def _available(retailer, sku: str) -> int:
    return retailer.api.get(f"/api/v1/availability?sku={sku}").get_json()["data"][0]["available"]


def test_a_portal_only_vendor_imports_its_catalog_refuses_ships_and_confirms_a_held_count(
    live_hub,  # noqa: F811
    shots,  # noqa: F811
    tmp_path,
):
    from playwright.sync_api import expect, sync_playwright

    app, base, mailbox = live_hub
    client = app.test_client()
    retailer = make_org(db.session, client, "retailer")
    other_retailer = make_org(db.session, client, "retailer")
    invited = retailer.api.post(
        "/api/v1/vendor-invites", json={"email": "sam@tents.example", "vendor_name": "Tent Makers"}
    )
    assert invited.status_code == 201, invited.get_data(as_text=True)
    link = re.search(
        r"http://127\.0\.0\.1:\d+/portal/invites/\S+", body(mailbox.last_to("sam@tents.example"))
    )
    files = {name: tmp_path / f"{name}.csv" for name in ("catalog", "stock", "slip")}
    for name, text in (("catalog", CATALOG), ("stock", STOCK), ("slip", SLIP)):
        files[name].write_text(text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        page.on("dialog", lambda dialog: dialog.accept())  # the portal's "are you sure?" confirmations

        # Accept the invite: a new account.
        page.goto(link.group(0))
        signup = page.locator("form", has=page.get_by_role("heading", name="New to Dropnet?"))
        signup.get_by_label("Your company").fill("Tent Makers Ltd")
        signup.get_by_label("Your name").fill("Sam")
        signup.get_by_label("Password", exact=True).fill("Canvas-and-poles-77")
        signup.get_by_label("Repeat the password").fill("Canvas-and-poles-77")
        signup.get_by_role("button", name="Create the account and accept").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        # Import the catalog of 20 products: preview, then import.
        page.get_by_role("link", name="Stock", exact=True).click()
        page.get_by_role("link", name="Import a catalog").click()
        page.get_by_label("CSV file").set_input_files(str(files["catalog"]))
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#map_map_price")).to_have_value("map_price")
        expect(page.locator("#catalog-summary")).to_contain_text("20 rows read: 20 new")
        page.screenshot(path=str(shots / "catalog-preview.png"), full_page=True)
        page.get_by_role("button", name="Import this file").click()
        expect(page.locator("body")).to_contain_text("20 created")

        # Upload their stock.
        page.get_by_role("link", name="Stock", exact=True).click()
        page.get_by_role("link", name="Upload a CSV").click()
        page.get_by_label("CSV file").set_input_files(str(files["stock"]))
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("body")).to_contain_text("20 rows read, 20 valid")
        page.get_by_role("button", name="Apply this file").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("applied")

        # Both retailers sell two of the tents (the second retailer connected too); one order of both.
        variants = _variants(retailer)
        assert len([sku for sku in variants if sku.startswith("TENT-")]) == 20
        vendor_id = retailer.api.get("/api/v1/connections").get_json()["data"][0]["vendor_id"]
        connect(db.session, other_retailer, Party(vendor_id, "Tent Makers Ltd", None))
        for party in (retailer, other_retailer):
            for sku in ("TENT-03", "TENT-04"):
                body_ = {"sources": [{"vendor_variant_id": variants[sku]}]}
                assert party.api.put(f"/api/v1/items/{sku}", json=body_).status_code in (200, 201)
        placed = retailer.api.post(
            "/api/v1/orders",
            json={
                "reference": "CAMP-1",
                "lines": [
                    {"retailer_sku": "TENT-03", "quantity": 2},
                    {"retailer_sku": "TENT-04", "quantity": 1},
                ],
                "ship_to": SHIP_TO,
            },
            headers={"Idempotency-Key": "catalog-flow-order"},
        )
        assert placed.status_code == 201, placed.get_data(as_text=True)
        order = placed.get_json()

        # Refuse TENT-03 for lack of stock, then acknowledge and ship TENT-04 with tracking.
        page.get_by_role("link", name="Purchase orders").click()
        page.get_by_role("link", name=re.compile(r"^PO-\d+$")).first.click()
        page.get_by_label("Units of TENT-03 to reject").fill("2")
        page.select_option("#reason_code", "out_of_stock")
        page.get_by_role("button", name="Reject", exact=True).click()
        expect(page.locator("body")).to_contain_text("TENT-04")
        page.get_by_role("button", name="Acknowledge the purchase order").click()
        page.get_by_label("Carrier").fill("UPS")
        page.get_by_label("Tracking number").fill("1Z999AA10123456784")
        page.get_by_role("button", name="Record the shipment").click()
        expect(page.locator("body")).to_contain_text("Shipment recorded")
        page.screenshot(path=str(shots / "refused-and-shipped.png"), full_page=True)

        # TENT-03 is on hold at zero for every retailer, though the count still says 12.
        assert _available(retailer, "TENT-03") == 0
        assert _available(other_retailer, "TENT-03") == 0
        assert _available(other_retailer, "TENT-04") == 11

        # A second upload with a misplaced period: TENT-07 12 -> 1200 is held, the rest applies.
        page.get_by_role("link", name="Stock", exact=True).click()
        page.get_by_role("link", name="Upload a CSV").click()
        page.get_by_label("CSV file").set_input_files(str(files["slip"]))
        page.get_by_role("button", name="Preview").click()
        page.get_by_role("button", name="Apply this file").click()
        expect(page.locator("body")).to_contain_text("held for your confirmation in feed run")
        page.get_by_role("link", name="Stock", exact=True).click()
        expect(page.locator(f"#qty-{variants['TENT-07']}")).to_have_value("12")
        expect(page.locator(f"#qty-{variants['TENT-08']}")).to_have_value("11")
        page.get_by_role("link", name="Feeds").click() if page.get_by_role(
            "link", name="Feeds"
        ).count() else None
        page.goto(f"{base}/portal/feed-runs")
        page.get_by_role("link", name=re.compile(r"^#\d+$")).first.click()
        expect(page.locator("body")).to_contain_text("misplaced period")
        expect(page.locator("body")).to_contain_text("TENT-07: 1200 is more than 10×")
        page.screenshot(path=str(shots / "held-jump.png"), full_page=True)
        page.get_by_role("button", name="Apply it").click()
        expect(page.locator("body")).to_contain_text("Applied")
        page.get_by_role("link", name="Stock", exact=True).click()
        expect(page.locator(f"#qty-{variants['TENT-07']}")).to_have_value("1200")
        browser.close()

    # The retailer sees the refusal and the shipment with its tracking number.
    lines = {
        line["retailer_sku"]: line
        for line in retailer.api.get(f"/api/v1/orders/{order['id']}").get_json()["lines"]
    }
    (refused,) = lines["TENT-03"]["purchase_order_lines"]
    (shipped,) = lines["TENT-04"]["purchase_order_lines"]
    assert (refused["status"], shipped["status"], shipped["shipped"]) == ("rejected", "shipped", 1)
    shipments = retailer.api.get("/api/v1/events?type=po.shipped").get_json()["data"]
    assert [(e["data"]["carrier"], e["data"]["tracking_number"]) for e in shipments] == [
        ("UPS", "1Z999AA10123456784")
    ]
