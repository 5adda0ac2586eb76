"""Vendor portal pages for a big vendor: gunicorn + PostgreSQL, 50,000 variants, 5,000 open PO lines.

    .venv/bin/python bench/portal.py [--variants 50000] [--orders 1000] [--lines-per-order 5]
                                     [--samples 300] [--seconds 10] [--connections 4]

Creates a scratch PostgreSQL database (dropped afterwards) and seeds, outside the measurement, one
retailer and one vendor with `--variants` stocked variants (bulk rows, as catalog.upsert_variant
would write them), one retailer item per variant, and `--orders` orders of `--lines-per-order`
lines placed through network.orders.placement (a third of them acknowledged), so the vendor has
orders x lines open purchase-order lines. A portal user signs in through the real form (CSRF
token included); the script then measures, on gunicorn (2 sync workers):

- one client, one request at a time (`--samples` each): p50/p99 of the dashboard, the purchase
  order inbox (needs-action tab, first page), the stock list (first page) and a stock search;
- `--connections` concurrent clients with wrk for `--seconds`: p50/p99 and requests/s of the
  dashboard and the inbox.

Each figure is printed next to GET /healthz (one `SELECT 1` through the same server), measured in
the same run: the floor a portal page cannot beat on this machine.

Environment: BENCH_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from network.clock import utcnow  # noqa: E402
from network.db import transaction  # noqa: E402
from network.extensions import db  # noqa: E402
from network.orders import services as orders  # noqa: E402
from network.orders.placement import LineInput, place_order  # noqa: E402
from network.partners.models import User  # noqa: E402

PASSWORD = "Bench-portal-password-1"
SHIP_TO = {
    "name": "Ada Buyer",
    "address1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def seed(app, *, variants: int, orders_count: int, lines_per_order: int) -> str:
    """Seed the network; return the portal user's email."""
    now = utcnow()
    session = db.session
    retailer = common.make_party(session, kind="retailer", name="Bench Retailer", now=now)
    vendor = common.make_party(session, kind="vendor", name="Bench Vendor", now=now)
    common.connect(session, retailer, vendor, now=now)
    skus = [f"V-{n:06d}" for n in range(variants)]
    ids = common.bulk_variants(session, vendor_id=vendor.id, skus=skus, now=now, quantity=1000, as_of=now)
    common.bulk_items(
        session, retailer_id=retailer.id, items=[(f"R-{sku}", [ids[sku]]) for sku in skus], now=now
    )
    email = "owner@bench-vendor.example"
    with transaction(session):
        session.add(
            User(
                org_id=vendor.id, email=email, password_hash=generate_password_hash(PASSWORD), created_at=now
            )
        )
    common.analyze(session)
    rng = random.Random(7)
    started = time.perf_counter()
    for n in range(orders_count):
        lines = [LineInput(f"R-{sku}", rng.randint(1, 3)) for sku in rng.sample(skus, lines_per_order)]
        with transaction(session):
            order = place_order(
                session,
                retailer_id=retailer.id,
                reference=f"BENCH-{n:05d}",
                lines=lines,
                ship_to=SHIP_TO,
                now=now,
            )
            if n % 3 == 0:
                for po in order.purchase_orders:
                    orders.acknowledge(session, vendor_id=vendor.id, po_id=po.id, lines=None, now=now)
    print(
        f"placed {orders_count} orders ({orders_count * lines_per_order} lines) in {time.perf_counter() - started:.0f} s"
    )
    common.analyze(session)
    return email


@contextlib.contextmanager
def serve(url: str, instance: Path, options: list[str]) -> Iterator[common.Server]:
    """common.gunicorn, tried again when a worker boots slower than its 2 s health probe (a loaded box)."""
    for _ in range(3):
        stack = contextlib.ExitStack()
        try:
            server = stack.enter_context(
                common.gunicorn("wsgi:app", database_url=url, instance_path=instance, options=options)
            )
        except requests.ReadTimeout:
            stack.close()
            continue
        with stack:
            yield server
        return
    raise RuntimeError("gunicorn did not answer /healthz in three attempts")


def sign_in(base_url: str, email: str) -> requests.Session:
    """Sign in through the real form, CSRF token included; return the session holding the cookie."""
    browser = requests.Session()
    page = browser.get(base_url + "/portal/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = browser.post(
        base_url + "/portal/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    return browser


def latencies(browser: requests.Session, url: str, samples: int) -> list[float]:
    for _ in range(5):  # warm the workers and the database's cache
        browser.get(url, timeout=60).raise_for_status()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        response = browser.get(url, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variants", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--lines-per-order", type=int, default=5)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()

    print(f"# Vendor portal pages\n\n{common.machine()}, PostgreSQL {common.postgres_version()}")
    with common.scratch_postgres("portal") as url, tempfile.TemporaryDirectory() as instance:
        app = common.build_hub(url, Path(instance))
        with app.app_context():
            email = seed(
                app, variants=args.variants, orders_count=args.orders, lines_per_order=args.lines_per_order
            )
            db.session.remove()
            db.engine.dispose()
        # --preload: the arbiter loads the app before it listens, so the health probe meets a
        # closed port (retried) rather than a worker still importing on a busy box (a read timeout).
        options = [*common.gunicorn_settings(workers=2), "--preload"]
        with serve(url, Path(instance), options) as server:
            browser = sign_in(server.base_url, email)
            pages = {
                "dashboard": "/portal/dashboard",
                "PO inbox (needs action, page 1)": "/portal/purchase-orders",
                "stock list (page 1)": "/portal/stock",
                "stock search (10 matches)": "/portal/stock?q=V-0199",
            }
            floor = latencies(browser, server.base_url + "/healthz", args.samples)
            rows = []
            for label, path in pages.items():
                times = latencies(browser, server.base_url + path, args.samples)
                rows.append(common.Row(f"{label} p50", p(times, 50), "ms", ceiling=p(floor, 50)))
                rows.append(common.Row(f"{label} p99", p(times, 99), "ms", ceiling=p(floor, 99)))
            common.print_table(
                f"One client, one request at a time ({args.samples} requests each; ceiling = GET /healthz)",
                rows,
            )

            cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
            loaded = []
            health = common.run_wrk(
                server.base_url,
                path_template="/healthz?r=%d",
                first=1,
                count=1000,
                connections=args.connections,
                seconds=args.seconds,
            )
            for label, path in (("dashboard", "/portal/dashboard"), ("PO inbox", "/portal/purchase-orders")):
                result = common.run_wrk(
                    server.base_url,
                    path_template=path + "?r=%d",
                    first=1,
                    count=1000,
                    headers={"Cookie": cookie},
                    connections=args.connections,
                    seconds=args.seconds,
                )
                if result.errors:
                    raise RuntimeError(f"{label}: {result.errors} failed requests under load")
                extra = {
                    "requests/s": f"{result.requests_per_second:,.0f}",
                    "healthz req/s": f"{health.requests_per_second:,.0f}",
                }
                loaded.append(
                    common.Row(f"{label} p50", result.p50_ms, "ms", ceiling=health.p50_ms, extra=extra)
                )
                loaded.append(
                    common.Row(f"{label} p99", result.p99_ms, "ms", ceiling=health.p99_ms, extra=extra)
                )
            common.print_table(
                f"{args.connections} concurrent clients for {args.seconds} s (wrk; ceiling = GET /healthz under the same load)",
                loaded,
            )
    print(
        f"{args.variants:,} variants, {args.orders * args.lines_per_order:,} open purchase-order lines, "
        f"gunicorn {' '.join(options)}; seeded {dt.datetime.now(dt.UTC):%Y-%m-%d}."
    )


if __name__ == "__main__":
    main()
