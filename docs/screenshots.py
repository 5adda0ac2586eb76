"""Screenshots of the retailer console's pages for the README, taken from a fresh demo network.

    .venv/bin/python docs/screenshots.py            # writes docs/screenshots/console-*.png
    .venv/bin/python docs/screenshots.py --out DIR

It migrates a new SQLite database in a temporary directory (`hub init`), seeds it with `hub demo
--json`, serves the hub on 127.0.0.1 behind a real HTTP server, signs in to the console as the
first demo retailer's user in headless Chromium (Debian's /usr/bin/chromium, as the browser
tests use) and saves one PNG per page: every page of the main menu (so a page that lands later,
such as Connectors, is taken without changing this script) and the pages one level down that the
README shows (a vendor's terms, the GTIN auto-match, an item's availability, an order). The PNGs
are reduced to a 256-colour palette (Pillow, which matplotlib brings), a third of their size.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from network.app import create_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}
MAX_HEIGHT = 1600  # a long page is cut here: the top says what the page is for


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _save(page, path: Path) -> None:
    from PIL import Image

    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, 400)})
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size // 1024} KiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"SECRET_KEY": "screenshots", "DATABASE_URL": f"sqlite:///{Path(tmp) / 'hub.sqlite3'}"}
        )
        runner = app.test_cli_runner()
        for command in (["hub", "init"], ["hub", "demo", "--json"]):
            result = runner.invoke(args=command)
            if result.exit_code != 0:
                raise SystemExit(f"{' '.join(command)} failed:\n{result.output}")
        demo = json.loads(result.output.strip().splitlines()[-1])
        retailer = demo["retailers"][0]
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
                )
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(15_000)
                page.goto(base + "/console/login")
                page.get_by_label("Email").fill(retailer["console_email"])
                page.get_by_label("Password").fill(retailer["console_password"])
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_role("heading", name="What needs a decision")).to_be_visible()

                menu = page.get_by_role("navigation", name="Main").get_by_role("link")
                pages = [
                    (menu.nth(i).inner_text(), menu.nth(i).get_attribute("href")) for i in range(menu.count())
                ]
                for name, href in pages:
                    page.goto(base + href)
                    _save(page, args.out / f"console-{_slug(name)}.png")

                page.goto(base + "/console/vendors")
                page.get_by_role("link", name="Edit terms").first.click()
                _save(page, args.out / "console-vendor-terms.png")
                page.goto(base + "/console/catalog/gtin-matches")
                _save(page, args.out / "console-gtin-matches.png")
                page.goto(base + "/console/availability/LAMP-LED")
                _save(page, args.out / "console-item-availability.png")
                page.goto(base + "/console/orders")
                page.get_by_role("link", name=re.compile(r"-1002$")).click()  # shipped in part
                _save(page, args.out / "console-order.png")
                browser.close()
        finally:
            server.shutdown()
            thread.join(5)


if __name__ == "__main__":
    main()
