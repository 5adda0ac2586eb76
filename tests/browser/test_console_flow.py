"""A retailer's first minutes, in a real browser (Playwright, Debian's headless Chromium) against
the hub behind a real HTTP server: the operator's `hub create-retailer` -> the activation email ->
choose a password -> the console's home shows the open flag -> sign out and back in.

Screenshots go where the portal flow's go ($PORTAL_SCREENSHOTS, else the test's temporary directory).
"""

from __future__ import annotations

import re

import pytest

from network.extensions import db
from tests.browser.test_portal_flow import ARGS, _chromium
from tests.builders import connect, make_org
from tests.console.test_onboarding import raise_flag, retailer_party
from tests.flag_helpers import order_of
from tests.order_helpers import stocked_item
from tests.portal.conftest import body

pytestmark = pytest.mark.browser

PASSWORD = "Shelves-and-carts-2026"


def test_an_operator_creates_a_retailer_whose_owner_activates_and_sees_its_flags(live_hub, shots):
    from playwright.sync_api import expect, sync_playwright

    app, base, mailbox = live_hub
    result = app.test_cli_runner().invoke(
        args=["hub", "create-retailer", "--name", "Corner Shop", "--owner-email", "ana@corner.example"]
    )
    assert result.exit_code == 0, result.output
    link = re.search(
        r"http://127\.0\.0\.1:\d+/console/activate/\S+", body(mailbox.last_to("ana@corner.example"))
    )
    assert link, "the activation email has no link to this hub"

    client = app.test_client()
    retailer = retailer_party(db.session, client, "ana@corner.example")
    vendor = make_org(db.session, client, "vendor")
    connect(db.session, retailer, vendor)
    _, sku = stocked_item(db.session, vendor, [retailer], 10)
    raise_flag(db.session, order_of(retailer, sku, 1), retailer.id, vendor.id, "ack_overdue", hours_ago=3)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

        page.goto(link.group(0))
        expect(page.get_by_role("heading", level=1)).to_have_text("Activate your account")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Repeat the password").fill(PASSWORD)
        page.get_by_role("button", name="Activate").click()
        expect(page.get_by_role("heading", name="What needs a decision")).to_be_visible()
        flags = page.locator("section", has=page.get_by_role("heading", name="Open flags"))
        expect(flags).to_contain_text("ack_overdue")
        expect(flags).to_contain_text(vendor.name)
        expect(flags).to_contain_text("3 h")
        page.screenshot(path=str(shots / "console-activated-home.png"), full_page=True)

        # The link worked once.
        page.goto(link.group(0))
        expect(page.get_by_role("heading", level=1)).to_have_text("Link no longer valid")

        page.goto(base + "/console")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Email").fill("ana@corner.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="What needs a decision")).to_be_visible()
        assert blocked == []
        browser.close()
