"""GTIN auto-match in a real browser (Playwright, Debian's headless Chromium): a retailer's items
listed with their GTINs and no source; the operator opens Catalog -> GTIN auto-match, leaves one
suggestion unchecked, accepts the others in one click, and sees the item's new sources."""

from __future__ import annotations

import pytest

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.partners.models import User
from tests.browser.test_portal_flow import ARGS, _chromium
from tests.builders import connect, gtin13, make_org, make_variant
from tests.portal.conftest import PASSWORD, _password_hash

pytestmark = pytest.mark.browser


def test_an_operator_accepts_gtin_matches_in_bulk(live_hub, shots):
    from playwright.sync_api import expect, sync_playwright

    app, base, _ = live_hub
    client = app.test_client()
    retailer = make_org(db.session, client, "retailer")
    north, south = make_org(db.session, client, "vendor"), make_org(db.session, client, "vendor")
    connect(db.session, retailer, north)
    connect(db.session, retailer, south)
    kettle, toaster = gtin13(5001), gtin13(5002)
    make_variant(db.session, north, sku="N-KETTLE", title="Kettle 1.7 l", gtin=kettle)
    make_variant(db.session, south, sku="S-KETTLE", title="Kettle", gtin=kettle)
    make_variant(db.session, north, sku="N-TOASTER", title="Toaster", gtin=toaster)
    for sku, gtin in (("KETTLE", kettle), ("TOASTER", toaster)):
        put = retailer.api.put(
            f"/api/v1/items/{sku}", json={"title": sku.title(), "gtin": gtin, "sources": []}
        )
        assert put.status_code == 201, put.get_data(as_text=True)
    with transaction(db.session):
        db.session.add(
            User(
                org_id=retailer.id,
                email="op@shop.example",
                password_hash=_password_hash(PASSWORD),
                role="operator",
                created_at=utcnow(),
            )
        )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

        page.goto(base + "/console/login")
        page.get_by_label("Email").fill("op@shop.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
        page.get_by_role("navigation", name="Catalog").get_by_role("link", name="GTIN auto-match").click()
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(2)
        expect(page.get_by_role("checkbox")).to_have_count(3)  # two kettle sources, one toaster
        page.screenshot(path=str(shots / "console-gtin-matches.png"), full_page=True)

        page.get_by_role("checkbox", name="S-KETTLE").uncheck()
        page.get_by_role("button", name="Accept the checked sources").click()
        expect(page.get_by_role("status")).to_have_text("2 items got new sources.")
        expect(page.get_by_text("No suggestions")).to_be_visible()  # both items have a source now

        page.get_by_role("navigation", name="Catalog").get_by_role("link", name="Your items").click()
        page.get_by_role("link", name="KETTLE", exact=True).click()
        sources = page.locator("tbody tr")
        expect(sources).to_have_count(1)
        expect(sources).to_contain_text("N-KETTLE")
        assert blocked == []
        browser.close()
