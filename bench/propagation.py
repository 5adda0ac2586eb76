"""Propagation: a vendor's push → `availability.changed` at a retailer's webhook receiver.

    python bench/propagation.py [--changes 200] [--retailers 100] [--fanouts 10] [--backends postgres,sqlite]

Set-up (not measured): a scratch database; a vendor with one variant; N retailers connected to it,
each with one item sourced from that variant and one unthrottled webhook endpoint on a receiver
in this process (127.0.0.1, keep-alive, TCP_NODELAY); the hub served by gunicorn.
- PostgreSQL: gunicorn (2 gthread workers) for the API and a separate `flask hub worker` process
  delivering webhooks, woken by LISTEN/NOTIFY.
- SQLite: the `make run` shape, one gunicorn process running the worker in-process
  (HUB_RUN_WORKER=1), woken by the in-process commit signal.
Both keep the dispatcher's polling safety net at its default (2 s): a figure under it shows the
commit-time wake-up at work.

Measured:
1. latency: one retailer's endpoint; `--changes` sequential pushes of one row through
   POST /vendor-api/v1/inventory (each a new quantity), from just before the request until the
   receiver holds the event carrying that figure; p50/p99.
2. fan-out: every retailer's endpoint; one push; time until all N endpoints hold the new figure;
   repeated `--fanouts` times, median and worst.
Ceiling, same run: the push's own HTTP round trip (the change cannot be announced before it
commits), p50.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import common
import requests

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.outbox import webhooks
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from network.partners.audit import Actor

LATENCY_SKU = "BENCH-PROP-ONE"
FANOUT_SKU = "BENCH-PROP-ALL"
WEBHOOK_ENV = {"HUB_WEBHOOK_ALLOW_HTTP_HOSTS": "127.0.0.1", "HUB_WEBHOOK_ALLOW_PRIVATE": "1"}


class Receiver:
    """Records when each (endpoint path, available figure) first arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, int], float] = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                now = time.perf_counter()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if body["type"] == "availability.changed":
                    key = (self.path, body["data"]["available"])
                    with receiver.changed:
                        receiver.arrivals.setdefault(key, now)
                        receiver.changed.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def wait(self, keys: list[tuple[str, int]], timeout: float = 30.0) -> list[float]:
        with self.changed:
            if not self.changed.wait_for(lambda: all(k in self.arrivals for k in keys), timeout):
                missing = [k for k in keys if k not in self.arrivals]
                raise RuntimeError(f"{len(missing)} deliveries never arrived, e.g. {missing[:3]}")
            return [self.arrivals[k] for k in keys]


def seed(app, receiver: Receiver, retailers: int) -> tuple[common.Party, list[str]]:
    """The vendor and its two variants; N retailers with an endpoint each; return the endpoint paths.

    Every retailer sells FANOUT_SKU; only the first also sells LATENCY_SKU, so a change to it is
    one delivery to one endpoint (the latency case) and a change to FANOUT_SKU is N (the fan-out).
    """
    now = utcnow()
    settings = WebhookSettings.from_config({**WEBHOOK_ENV, "HUB_WEBHOOK_ALLOW_PRIVATE": True})
    paths = []
    with app.app_context():
        session = db.session
        vendor = common.make_party(session, kind="vendor", name="Bench vendor", now=now)
        variant_ids = common.bulk_variants(
            session, vendor_id=vendor.id, skus=[LATENCY_SKU, FANOUT_SKU], now=now, quantity=0, as_of=now
        )
        for i in range(retailers):
            retailer = common.make_party(session, kind="retailer", name=f"Bench retailer {i}", now=now)
            common.connect(session, retailer, vendor, now=now)
            skus = [LATENCY_SKU, FANOUT_SKU] if i == 0 else [FANOUT_SKU]
            common.bulk_items(
                session,
                retailer_id=retailer.id,
                items=[(f"R-{sku}", [variant_ids[sku]]) for sku in skus],
                now=now,
            )
            path = f"/r/{i}"
            with transaction(session):
                webhooks.create_endpoint(
                    session,
                    org_id=retailer.id,
                    url=receiver.url(path),
                    events=["availability.changed"],
                    settings=settings,
                    box=SecretBox(common.SECRET_KEY),
                    actor=Actor(),
                    now=now,
                )
            paths.append(path)
        if app.config["DATABASE_URL"].startswith("postgresql"):
            common.analyze(session)
        db.session.remove()
        db.engine.dispose()
    return vendor, paths


def _env(database_url: str, instance_path: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "DATABASE_URL": database_url,
        "SECRET_KEY": common.SECRET_KEY,
        "HUB_INSTANCE_PATH": str(instance_path),
        "PYTHONPATH": str(common.ROOT),
        **WEBHOOK_ENV,
        **extra,
    }


@contextlib.contextmanager
def process(
    command: list[str], env: dict[str, str], log_path: Path, health_url: str | None
) -> Iterator[None]:
    """Run a hub process until the block ends; wait for GET /healthz when it serves HTTP.

    Raises RuntimeError (with its log) when it does not come up within a minute.
    """
    with open(log_path, "ab") as log:
        child = subprocess.Popen(command, cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[2:5]} did not start:\n{log_path.read_text()[-3000:]}")
            if health_url is None:
                time.sleep(3)  # a worker: imports, then its LISTEN connection
                break
            with contextlib.suppress(requests.RequestException):
                if requests.get(health_url, timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        yield
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def hub(backend: str, url: str, instance: Path) -> tuple[contextlib.ExitStack, str]:
    """Start the hub's processes for a backend; return them (to close) and the API's base URL."""
    port = common.free_port()
    base_url = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    stack = contextlib.ExitStack()
    if backend == "postgres":
        # gunicorn for the API (--preload: the socket opens once the app is loaded), a separate worker.
        web = [
            str(bin_dir / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--preload",
            "--log-level",
            "warning",
        ]
        web += [*common.gunicorn_settings(workers=2, worker_class="gthread", threads=4), "wsgi:app"]
        stack.enter_context(process(web, _env(url, instance), instance / "web.log", base_url + "/healthz"))
        worker = [sys.executable, "-m", "flask", "--app", "wsgi", "hub", "worker"]
        stack.enter_context(process(worker, _env(url, instance), instance / "worker.log", None))
    else:
        # `make run`: one process serving the API with the background jobs in-process.
        web = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        env = _env(url, instance, HUB_RUN_WORKER="1")
        stack.enter_context(process(web, env, instance / "web.log", base_url + "/healthz"))
    return stack, base_url


def push(session: requests.Session, base_url: str, sku: str, quantity: int) -> float:
    """Push one row; return the request's round trip in seconds."""
    started = time.perf_counter()
    response = session.post(
        base_url + "/vendor-api/v1/inventory",
        json={"mode": "delta", "rows": [{"sku": sku, "quantity": quantity}]},
        timeout=60,
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.json()["status"] == "applied", response.text[:500]
    return elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(backend: str, url: str, args: argparse.Namespace) -> list[common.Row]:
    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="dropnet_prop_") as tmp:
        instance = Path(tmp)
        app = common.build_hub(url, instance)
        vendor, paths = seed(app, receiver, args.retailers)
        processes, base_url = hub(backend, url, instance)
        with processes:
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {common.issue_token(base_url, vendor)}"
            quantity = 0
            # Warm up: connections, first pushes, the dispatcher's first round.
            for _ in range(5):
                quantity += 1
                push(http, base_url, LATENCY_SKU, quantity)
                receiver.wait([(paths[0], quantity)])
            trips, latencies = [], []
            for _ in range(args.changes):
                quantity += 1
                started = time.perf_counter()
                trips.append(push(http, base_url, LATENCY_SKU, quantity))
                (arrived,) = receiver.wait([(paths[0], quantity)])
                latencies.append(arrived - started)
                time.sleep(0.01)
            spans = []
            for _ in range(args.fanouts):
                quantity += 1
                started = time.perf_counter()
                push(http, base_url, FANOUT_SKU, quantity)
                arrivals = receiver.wait([(path, quantity) for path in paths])
                spans.append(max(arrivals) - started)
                time.sleep(0.2)
        ceiling = statistics.median(trips) * 1000
        shape = (
            "gunicorn + separate worker, LISTEN/NOTIFY"
            if backend == "postgres"
            else "flask run + in-process worker, commit signal"
        )
        return [
            common.Row(
                f"{backend}: push → receiver, p50", percentile(latencies, 0.5) * 1000, "ms", ceiling, shape
            ),
            common.Row(
                f"{backend}: push → receiver, p99",
                percentile(latencies, 0.99) * 1000,
                "ms",
                ceiling,
                f"{args.changes} changes",
            ),
            common.Row(
                f"{backend}: push round trip, p99",
                percentile(trips, 0.99) * 1000,
                "ms",
                notes="the push alone",
            ),
            common.Row(
                f"{backend}: fan-out to {len(paths)} endpoints, median",
                statistics.median(spans) * 1000,
                "ms",
                ceiling,
                f"{args.fanouts} pushes",
            ),
            common.Row(
                f"{backend}: fan-out to {len(paths)} endpoints, worst", max(spans) * 1000, "ms", ceiling
            ),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--retailers", type=int, default=100)
    parser.add_argument("--fanouts", type=int, default=10)
    parser.add_argument("--backends", default="postgres,sqlite")
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    rows: list[common.Row] = []
    for backend in args.backends.split(","):
        scratch = common.scratch_postgres("prop") if backend == "postgres" else common.scratch_sqlite("prop")
        with scratch as url:
            rows += run(backend, url, args)
    common.print_table("Propagation (ceiling: the push's own round trip, p50)", rows)


if __name__ == "__main__":
    main()
