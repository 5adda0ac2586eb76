"""Order placement through the HTTP API: gunicorn + PostgreSQL, 16 concurrent clients, vs pgbench -N.

    .venv/bin/python bench/order_placement.py [--seconds 20] [--clients 16] [--profile]

Creates a scratch database (dropped afterwards), seeds it through the services (two retailers,
one vendor, 2,000 stocked variants sold by both retailers, 5 hot items with little stock), serves
the hub with gunicorn, and drives 1-line orders with wrk (a Lua script gives each request its own
Idempotency-Key and a random item): first on random items, then on the 5 hot items, whose books
are checked afterwards (zero oversell). In the same run, `pgbench -N` (simple-update) at the same
client count gives the ceiling of this machine's PostgreSQL. `--profile` samples one gunicorn
worker with py-spy during the random run and prints where the time goes.

Environment: BENCH_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from network.app import create_app  # noqa: E402
from network.availability.services import publish_changes  # noqa: E402
from network.catalog.models import ItemSource, RetailerItem, VendorVariant  # noqa: E402
from network.db import transaction  # noqa: E402
from network.extensions import db  # noqa: E402
from network.orders.models import PurchaseOrderLine  # noqa: E402
from network.partners import services as partners  # noqa: E402
from network.stock.models import StockPosition  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
VARIANTS = 2000
HOT = 5
HOT_STOCK = 60

WRK_SCRIPT = r"""
local skus = {%(skus)s}
local tokens = {%(tokens)s}
local counter = 0
local threads = {}
math.randomseed(os.time() + %(seed)d)
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  created, refused, other = 0, 0, 0
end
function request()
  counter = counter + 1
  local sku = skus[math.random(#skus)]
  local token = tokens[(counter %% #tokens) + 1]
  local body = '{"reference":"bench","lines":[{"retailer_sku":"' .. sku .. '","quantity":1}],' ..
    '"ship_to":{"name":"B","address1":"1 Main","city":"X","postal_code":"1","country":"US"}}'
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token[1],
    ["Idempotency-Key"] = id .. "-" .. counter .. "-" .. math.random(1000000000)}
  return wrk.format("POST", "/api/v1/orders", headers, body)
end
function response(status, headers, body)
  if status == 201 then created = created + 1 elseif status == 409 then refused = refused + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local c, r, o = 0, 0, 0
  for _, t in ipairs(threads) do c = c + t:get("created"); r = r + t:get("refused"); o = o + t:get("other") end
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "created": %%d, "refused": %%d, "other": %%d, ' ..
    '"errors": %%d, "p50_ms": %%f, "p99_ms": %%f}\n', summary.requests, summary.duration / 1e6, c, r, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def psql(sql: str, database: str = "postgres") -> None:
    url = re.sub(r"/[^/]*$", f"/{database}", ADMIN_URL)
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


@contextlib.contextmanager
def scratch_database(name: str) -> Iterator[str]:
    psql(f'DROP DATABASE IF EXISTS "{name}"')
    psql(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", ADMIN_URL)
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(url: str) -> dict:
    """Two retailers, one vendor, stocked variants sold by both, 5 hot ones; return skus and clients."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "HUB_ENV": "development"})
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        db.create_all()
        s = db.session
        with transaction(s):
            vendor = partners.create_organization(s, kind="vendor", name="Bench vendor", now=now)
            retailers = [
                partners.create_organization(s, kind="retailer", name=f"Bench retailer {i}", now=now)
                for i in range(2)
            ]
            for retailer in retailers:
                partners.connect(s, retailer_id=retailer.id, vendor_id=vendor.id, now=now)
            variants = [
                {
                    "vendor_id": vendor.id,
                    "vendor_sku": f"V{i:05d}",
                    "title": "thing",
                    "cost": Decimal("10"),
                    "attributes": {},
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(VARIANTS + HOT)
            ]
            s.execute(sa.insert(VendorVariant), variants)
            ids = list(
                s.scalars(
                    sa.select(VendorVariant.id)
                    .where(VendorVariant.vendor_id == vendor.id)
                    .order_by(VendorVariant.id)
                )
            )
            s.execute(
                sa.insert(StockPosition),
                [
                    {
                        "variant_id": v,
                        "vendor_id": vendor.id,
                        "quantity": HOT_STOCK if n >= VARIANTS else 1_000_000,
                        "basis": "available",
                        "as_of": now,
                        "committed": 0,
                        "updated_at": now,
                        "damaged": 0,
                        "pending_inspection": 0,
                        "incoming": 0,
                    }
                    for n, v in enumerate(ids)
                ],
            )
            item_ids = []
            for retailer in retailers:
                s.execute(
                    sa.insert(RetailerItem),
                    [
                        {
                            "retailer_id": retailer.id,
                            "retailer_sku": f"S{n:05d}",
                            "title": "t",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for n in range(len(ids))
                    ],
                )
                items = list(
                    s.scalars(
                        sa.select(RetailerItem.id)
                        .where(RetailerItem.retailer_id == retailer.id)
                        .order_by(RetailerItem.id)
                    )
                )
                s.execute(
                    sa.insert(ItemSource),
                    [{"item_id": i, "variant_id": v, "priority": 0} for i, v in zip(items, ids, strict=True)],
                )
                item_ids += items
            publish_changes(s, item_ids, now=now)
            clients = []
            for retailer in retailers:
                client, secret = partners.create_api_client(s, org_id=retailer.id, now=now)
                clients.append((client.client_id, secret))
        s.execute(sa.text("ANALYZE"))
        s.commit()
        db.session.remove()
        db.engine.dispose()
    return {
        "random_skus": [f"S{n:05d}" for n in range(VARIANTS)],
        "hot_skus": [f"S{n:05d}" for n in range(VARIANTS, VARIANTS + HOT)],
        "hot_variants": ids[VARIANTS:],
        "clients": clients,
        "app": app,
    }


@contextlib.contextmanager
def gunicorn(url: str, port: int, workers: int, threads: int) -> Iterator[subprocess.Popen]:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "HUB_ENV": "production"}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
                "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                time.sleep(0.3)
            else:
                log.seek(0)
                raise RuntimeError("gunicorn did not come up:\n" + log.read()[-3000:])
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def tokens(port: int, clients: list[tuple[str, str]]) -> list[str]:
    result = []
    for client_id, secret in clients:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        response = requests.post(
            f"http://127.0.0.1:{port}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
            timeout=10,
        )
        response.raise_for_status()
        result.append(response.json()["access_token"])
    return result


def wrk(port: int, skus: list[str], toks: list[str], *, clients: int, seconds: int) -> dict:
    script = WRK_SCRIPT % {
        "skus": ",".join(f'"{s}"' for s in skus),
        "tokens": ",".join(f'{{"{t}"}}' for t in toks),
        "seed": os.getpid(),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(clients),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            f.name,
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (line,) = [line for line in out.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line[len("RESULT ") :])
    result["per_second"] = result["created"] / result["seconds"]
    result["requests_per_second"] = result["requests"] / result["seconds"]
    return result


def pgbench_tps(clients: int, seconds: int) -> float:
    with scratch_database("dropnet_bench_pgbench") as url:
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", "-N", "-c", str(clients), "-j", "2", "-T", str(seconds), url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    return float(match.group(1))


def check_hot_books(app, hot_variants: list[int], accepted: int) -> dict:
    with app.app_context():
        s = db.session
        rows = []
        for v in hot_variants:
            pos = s.get(StockPosition, v)
            live = s.scalar(
                sa.select(
                    sa.func.coalesce(sa.func.sum(PurchaseOrderLine.ordered - PurchaseOrderLine.cancelled), 0)
                ).where(PurchaseOrderLine.variant_id == v)
            )
            rows.append((pos.quantity, pos.committed, live))
        s.rollback()
        db.engine.dispose()
    sold = sum(live for _, _, live in rows)
    return {
        "stock": sum(q for q, _, _ in rows),
        "sold": sold,
        "accepted_by_api": accepted,
        "oversold": sum(max(0, live - q) for q, _, live in rows),
        "committed_matches": all(c == live for _, c, live in rows),
    }


def profile(pid: int, seconds: int, output: Path) -> str:
    subprocess.run(
        [str(ROOT / ".venv/bin/py-spy"), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "100",
         "--format", "raw", "--output", str(output), "--nonblocking"],
        check=True, capture_output=True,
    )  # fmt: skip
    own: dict[str, int] = {}
    total = 0
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        for frame in set(frames):
            name = re.sub(r":\d+\)$", ")", frame).replace(str(ROOT) + "/", "")
            own[name] = own.get(name, 0) + int(count)
    top = sorted(own.items(), key=lambda kv: -kv[1])
    wanted = [
        kv
        for kv in top
        if any(
            k in kv[0]
            for k in (
                "network/",
                "retailer_api/",
                "sqlalchemy",
                "psycopg",
                "flask",
                "marshmallow",
                "authlib",
                "werkzeug",
            )
        )
    ]
    return "\n".join(f"  {100 * n / total:5.1f}%  {name}" for name, n in wanted[:30])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    name = f"dropnet_bench_orders_{uuid.uuid4().hex[:6]}"
    with scratch_database(name) as url:
        hub_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        seeded = seed(hub_url)
        port = free_port()
        with gunicorn(hub_url, port, args.workers, args.threads) as server:
            toks = tokens(port, seeded["clients"])
            wrk(port, seeded["random_skus"], toks, clients=args.clients, seconds=3)  # warm-up
            prof = None
            if args.profile:
                workers = subprocess.run(
                    ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
                ).stdout.split()
                with tempfile.TemporaryDirectory() as tmp:
                    holder = {}
                    t = threading.Thread(
                        target=lambda: holder.update(
                            p=profile(int(workers[0]), args.seconds - 2, Path(tmp) / "p.txt")
                        )
                    )
                    t.start()
                    random_run = wrk(
                        port, seeded["random_skus"], toks, clients=args.clients, seconds=args.seconds
                    )
                    t.join()
                    prof = holder.get("p")
            else:
                random_run = wrk(
                    port, seeded["random_skus"], toks, clients=args.clients, seconds=args.seconds
                )
            hot_run = wrk(port, seeded["hot_skus"], toks, clients=args.clients, seconds=args.seconds)
        books = check_hot_books(seeded["app"], seeded["hot_variants"], hot_run["created"])
    tps = pgbench_tps(args.clients, args.seconds)
    ratio = random_run["per_second"] / tps
    print(f"machine: {os.cpu_count()} cores; gunicorn {args.workers} gthread workers x {args.threads} threads; "
          f"wrk {args.clients} connections, {args.seconds} s per run")  # fmt: skip
    print(
        f"{'run':<14}{'orders/s':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'201':>8}{'409':>7}{'other':>7}"
    )
    for label, run in (("random items", random_run), ("5 hot items", hot_run)):
        print(
            f"{label:<14}{run['per_second']:>10.1f}{run['requests_per_second']:>9.1f}{run['p50_ms']:>9.1f}"
            f"{run['p99_ms']:>9.1f}{run['created']:>8}{run['refused']:>7}{run['other'] + run['errors']:>7}"
        )
    print(f"pgbench -N -c {args.clients} -j 2 -T {args.seconds}: {tps:.0f} tps")
    print(f"ratio orders/s (random items) / pgbench tps: {100 * ratio:.1f} % (target >= 10 %)")
    print(
        f"hot items: stock {books['stock']}, sold {books['sold']} (API said {books['accepted_by_api']} accepted), "
        f"oversold {books['oversold']}, committed == live units: {books['committed_matches']}"
    )
    if prof:
        print("where one worker's time goes (share of samples containing the frame):")
        print(prof)
    if books["oversold"] or not books["committed_matches"] or books["sold"] != books["accepted_by_api"]:
        sys.exit("OVERSOLD or books out of balance")


if __name__ == "__main__":
    main()
