"""Retailer console pages for a big retailer: gunicorn + PostgreSQL, 50,000 orders.

    .venv/bin/python bench/console_pages.py [--orders 50000] [--samples 200]

Creates a scratch PostgreSQL schema (dropped afterwards) and seeds, outside the measurement, one
retailer with two vendors, 2,000 items, and `--orders` orders of two lines each over the past
year (bulk rows, as placement would write them: one purchase order per order, most shipped, some
cancelled or rejected, the newest open or acknowledged), with 300 open flags. A console user
signs in through the real form (CSRF token included); the script then measures, on gunicorn
(2 sync workers), one client, one request at a time (`--samples` each), p50/p99 of the console
home and of the order search: the first page, a reference prefix, a common and a rare status, a
one-week date range, and a page deep in the list.

Each figure is printed next to GET /healthz (one `SELECT 1` through the same server), measured in
the same run: the floor a console page cannot beat on this machine.

Environment: BENCH_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402
from portal import latencies, p, serve  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from network.clock import utcnow  # noqa: E402
from network.console_views.orders import Search, search_orders  # noqa: E402
from network.db import transaction  # noqa: E402
from network.extensions import db  # noqa: E402
from network.flags.models import Flag  # noqa: E402
from network.orders.models import Order, OrderLine, PurchaseOrder, PurchaseOrderLine  # noqa: E402
from network.partners.models import User  # noqa: E402

PASSWORD = "Bench-console-password-1"
EMAIL = "owner@bench-retailer.example"
ITEMS = 2000
FLAGS = 300
SHIP_TO = {
    "name": "Ada Buyer",
    "address1": "1 Main St",
    "city": "Springfield",
    "postal_code": "1",
    "country": "US",
}


def _states(rng: random.Random, n: int, orders: int) -> tuple[str, str]:
    """(purchase-order state, line state) of the n-th order: the newest are still open."""
    if n > orders - 600:
        return ("open", "open") if rng.random() < 0.5 else ("acknowledged", "acknowledged")
    roll = rng.random()
    if roll < 0.03:
        return "cancelled", "cancelled"
    if roll < 0.04:
        return "rejected", "rejected"
    return "shipped", "shipped"


def seed(*, orders: int) -> None:
    now = utcnow()
    session = db.session
    retailer = common.make_party(session, kind="retailer", name="Bench Retailer", now=now)
    vendors = [common.make_party(session, kind="vendor", name=f"Bench Vendor {v}", now=now) for v in range(2)]
    variants = {}
    for v, vendor in enumerate(vendors):
        common.connect(session, retailer, vendor, now=now)
        skus = [f"V{v}-{n:05d}" for n in range(ITEMS // 2)]
        ids = common.bulk_variants(session, vendor_id=vendor.id, skus=skus, now=now, quantity=1000, as_of=now)
        variants[vendor.id] = list(ids.values())
    items = common.bulk_items(
        session,
        retailer_id=retailer.id,
        items=[(f"R-{vid}", [vid]) for vendor_ids in variants.values() for vid in vendor_ids],
        now=now,
    )
    with transaction(session):
        session.add(
            User(
                org_id=retailer.id,
                email=EMAIL,
                password_hash=generate_password_hash(PASSWORD),
                role="owner",
                created_at=now,
            )
        )
    rng = random.Random(14)
    started = time.perf_counter()
    year = dt.timedelta(days=365)
    rows: dict[type, list[dict]] = {Order: [], OrderLine: [], PurchaseOrder: [], PurchaseOrderLine: []}
    vendor_ids = [vendor.id for vendor in vendors]
    for n in range(1, orders + 1):
        at = now - year + year * n / orders
        vendor_id = vendor_ids[n % 2]
        po_state, line_state = _states(rng, n, orders)
        rows[Order].append(
            {
                "id": n,
                "retailer_id": retailer.id,
                "reference": f"SO-{n:06d}",
                "status": "partially_accepted" if rng.random() < 0.02 else "accepted",
                "ship_to": SHIP_TO,
                "allow_partial": False,
                "allow_split": True,
                "created_at": at,
                "updated_at": at,
            }
        )
        rows[PurchaseOrder].append(
            {
                "id": n,
                "order_id": n,
                "retailer_id": retailer.id,
                "vendor_id": vendor_id,
                "status": po_state,
                "created_at": at,
                "updated_at": at,
            }
        )
        for line_no in (1, 2):
            line_id = 2 * n + line_no - 2
            variant_id = rng.choice(variants[vendor_id])
            quantity = rng.randint(1, 3)
            rows[OrderLine].append(
                {
                    "id": line_id,
                    "order_id": n,
                    "line_no": line_no,
                    "item_id": items[f"R-{variant_id}"],
                    "retailer_sku": f"R-{variant_id}",
                    "requested": quantity,
                    "accepted": quantity,
                }
            )
            rows[PurchaseOrderLine].append(
                {
                    "id": line_id,
                    "po_id": n,
                    "order_line_id": line_id,
                    "variant_id": variant_id,
                    "vendor_id": vendor_id,
                    "ordered": quantity,
                    "cancelled": quantity if line_state == "cancelled" else 0,
                    "rejected": quantity if line_state == "rejected" else 0,
                    "shipped": quantity if line_state == "shipped" else 0,
                    "acknowledged_at": at if line_state in ("acknowledged", "shipped") else None,
                    "status": line_state,
                    "settled": line_state == "shipped",
                    "updated_at": at,
                }
            )
    with transaction(session):
        for model, batch in rows.items():
            common._insert(session, model, batch)
            table = model.__tablename__
            session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {len(batch)})"))
        open_lines = [line for line in rows[PurchaseOrderLine] if line["status"] == "open"][:FLAGS]
        common._insert(
            session,
            Flag,
            [
                {
                    "retailer_id": retailer.id,
                    "vendor_id": line["vendor_id"],
                    "order_id": line["po_id"],
                    "order_line_id": line["order_line_id"],
                    "po_line_id": line["id"],
                    "kind": "ack_overdue",
                    "raised_at": line["updated_at"],
                    "detail": {},
                }
                for line in open_lines
            ],
        )
    common.analyze(session)
    print(f"seeded {orders:,} orders ({2 * orders:,} lines) in {time.perf_counter() - started:.0f} s")


SEARCHES = {  # the searches of `pages`, as the view reads them
    "order search, page 1": {},
    "reference prefix (100 matches)": {"reference": "so-{prefix}"},
    "status open (common among the newest)": {"status": "open"},
    "status rejected (1 %, spread over the year)": {"status": "rejected"},
    "one week, 6 months ago": {"week": True},
    "page deep in the list (before the middle order)": {"before": True},
}


SEARCH_INDEXES = ("ix_orders_retailer_id_reference_prefix",)


def explain(orders: int, *, without_indexes: bool = False) -> list[common.Row]:
    """Database time of each search's queries (EXPLAIN ANALYZE of the statements it runs), and
    the scans of its orders query: what the index buys, without the web server's noise.

    `without_indexes`: the search index is dropped first, in the same transaction, which is
    rolled back at the end (PostgreSQL's DDL is transactional): the same data, without it.
    """
    retailer_id = db.session.scalar(sa.select(Order.retailer_id).limit(1))
    if without_indexes:
        for name in SEARCH_INDEXES:
            db.session.execute(sa.text(f"DROP INDEX {name}"))
    week = (utcnow() - dt.timedelta(days=180)).date()
    rows = []
    for label, spec in SEARCHES.items():
        search = Search(
            reference=spec.get("reference", "").format(prefix=f"{orders // 200:04d}"),
            status=spec.get("status", ""),
            created_from=week if spec.get("week") else None,
            created_to=week + dt.timedelta(days=6) if spec.get("week") else None,
        )
        statements: list[tuple[str, object]] = []

        def capture(conn, cursor, statement, parameters, context, executemany, into=statements):  # noqa: ANN001
            into.append((statement, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", capture)
        try:
            search_orders(
                db.session,
                retailer_id=retailer_id,
                search=search,
                before_id=orders // 2 if spec.get("before") else None,
            )
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", capture)
        total, plan = 0.0, ""
        cursor = db.session.connection().connection.cursor()
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            result = cursor.fetchone()[0][0]
            total += result["Execution Time"]
            if not plan:
                plan = _scans(result["Plan"])
        suffix = " (without the prefix index)" if without_indexes else ""
        rows.append(common.Row(f"{label}{suffix}", total, "ms", notes=plan))
    db.session.rollback()
    return rows


def _scans(node: dict) -> str:
    """The scans of a plan on `orders`, named by their index."""
    found = []
    if node.get("Relation Name") == "orders":
        found.append(f"{node['Node Type']} {node.get('Index Name', '')}".strip())
    for child in node.get("Plans", []):
        found.append(_scans(child))
    return ", ".join(f for f in found if f)


def sign_in(base_url: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(base_url + "/console/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = browser.post(
        base_url + "/console/login",
        data={"csrf_token": token, "email": EMAIL, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    return browser


def pages(orders: int) -> dict[str, str]:
    week = (utcnow() - dt.timedelta(days=180)).date()
    return {
        "console home": "/console",
        "order search, page 1": "/console/orders",
        "reference prefix (100 matches)": f"/console/orders?reference=so-{orders // 200:04d}",
        "status open (common among the newest)": "/console/orders?status=open",
        "status rejected (1 %, spread over the year)": "/console/orders?status=rejected",
        "one week, 6 months ago": f"/console/orders?from={week}&to={week + dt.timedelta(days=6)}",
        "page deep in the list (before the middle order)": f"/console/orders?before={orders // 2}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    print(f"# Console pages\n\n{common.machine()}, PostgreSQL {common.postgres_version()}")
    with common.scratch_postgres("console") as url, tempfile.TemporaryDirectory() as instance:
        app = common.build_hub(url, Path(instance))
        with app.app_context():
            seed(orders=args.orders)
            common.print_table(
                "Database time of each search (EXPLAIN ANALYZE, summed over its three queries)",
                explain(args.orders) + explain(args.orders, without_indexes=True),
            )
            db.session.remove()
            db.engine.dispose()
        options = [*common.gunicorn_settings(workers=2), "--preload"]
        with serve(url, Path(instance), options) as server:
            browser = sign_in(server.base_url)
            floor = latencies(browser, server.base_url + "/healthz", args.samples)
            rows = []
            for label, path in pages(args.orders).items():
                found = browser.get(server.base_url + path, timeout=60)
                found.raise_for_status()
                listed = len(re.findall(r'<a href="/console/orders/\d+">', found.text))
                times = latencies(browser, server.base_url + path, args.samples)
                note = f"{listed} orders listed" if "/orders" in path else ""
                rows.append(common.Row(f"{label} p50", p(times, 50), "ms", ceiling=p(floor, 50), notes=note))
                rows.append(common.Row(f"{label} p99", p(times, 99), "ms", ceiling=p(floor, 99)))
            common.print_table(
                f"One client, one request at a time ({args.samples} requests each; ceiling = GET /healthz)",
                rows,
            )
    print(
        f"{args.orders:,} orders of one retailer, gunicorn {' '.join(options)}; seeded {dt.datetime.now(dt.UTC):%Y-%m-%d}."
    )


if __name__ == "__main__":
    main()
