"""/healthz latency while two vendors push large files at once (issue 12, defect 4).

    python bench/healthz_during_pushes.py [--rows 50000] [--idle-seconds 8] [--sync-baseline]

Set-up (not measured): a scratch PostgreSQL schema with two vendors of N variants each and a
retailer selling every variant; the hub served with the README's production command (gunicorn,
2 gthread workers × 8 threads, 60 s timeout) and one `flask --app wsgi hub worker` process.

Measured: a prober GETs /healthz on a fresh connection every 20 ms and records each latency.
First idle (the ceiling: what /healthz costs with nothing else going on), then while vendor A
POSTs a ~20 MB JSON full count and vendor B a ~17 MB CSV full count at the same moment, until
both feed runs are applied by the worker (the window covers the uploads and the applies). The
figure is the p99 in that window; the ratio is figure / ceiling. Each row carries a padding field
(a product description, as ERP exports do) so that N rows make files of the issue's sizes.
`--sync-baseline` also measures the issue's set-up (2 sync workers, every push applied in the
request: HUB_ASYNC_PUSH_BYTES above the file sizes), for comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import common
import requests

from network.clock import utcnow
from network.extensions import db

JSON_BYTES = 20_000_000
CSV_BYTES = 17_000_000
PROBE_EVERY = 0.02
PRODUCTION = ["--worker-class", "gthread", "--workers", "2", "--threads", "8"]
PRODUCTION_TIMEOUT = 60
ISSUE_SETUP = ["--worker-class", "sync", "--workers", "2"]


def skus(prefix: str, rows: int) -> list[str]:
    return [f"{prefix}-{i:06d}" for i in range(rows)]


def json_body(names: list[str], size: int, shift: int) -> bytes:
    """A full JSON count of every sku, each row padded so the body is about `size` bytes."""
    pad = max(0, size // len(names) - 70)
    rows = [
        {"sku": sku, "quantity": 5 + (i + shift) % 40, "damaged": i % 3, "description": "d" * pad}
        for i, sku in enumerate(names)
    ]
    return json.dumps({"mode": "full", "rows": rows}).encode()


def csv_body(names: list[str], size: int, shift: int) -> bytes:
    """A full CSV count of every sku with an unmapped description column, about `size` bytes."""
    pad = max(0, size // len(names) - 15)
    lines = ["sku,quantity,damaged,description"]
    lines += [f"{sku},{5 + (i + shift) % 40},{i % 3},{'d' * pad}" for i, sku in enumerate(names)]
    return ("\n".join(lines) + "\n").encode()


def seed(app, rows: int) -> tuple[common.Party, common.Party]:
    now = utcnow()
    with app.app_context():
        session = db.session
        retailer = common.make_party(session, kind="retailer", name="Bench retailer", now=now)
        vendors = []
        for prefix in ("A", "B"):
            vendor = common.make_party(session, kind="vendor", name=f"Bench vendor {prefix}", now=now)
            common.connect(session, retailer, vendor, now=now)
            names = skus(prefix, rows)
            ids = common.bulk_variants(session, vendor_id=vendor.id, skus=names, now=now)
            common.bulk_items(
                session, retailer_id=retailer.id, items=[(f"R-{sku}", [ids[sku]]) for sku in names], now=now
            )
            vendors.append(vendor)
        common.analyze(session)
        db.session.remove()
        db.engine.dispose()
    return vendors[0], vendors[1]


class Prober:
    """GET /healthz every PROBE_EVERY seconds on a fresh connection; latencies in ms, failures counted."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url + "/healthz"
        self.samples: list[float] = []
        self.times: list[float] = []  # when each sample started (perf_counter)
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                ok = requests.get(self.url, timeout=60).status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - started
            if ok:
                self.samples.append(elapsed * 1000)
                self.times.append(started)
            else:
                self.failures += 1
            self._stop.wait(max(0.0, PROBE_EVERY - elapsed))

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Latency:
    samples: int
    p50: float
    p99: float
    worst: float
    failures: int

    @classmethod
    def of(cls, prober: Prober, before: float | None = None) -> Latency:
        """The prober's latencies (only those of probes started before `before`, if given)."""
        values = sorted(
            ms for ms, t in zip(prober.samples, prober.times, strict=True) if before is None or t < before
        )
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return cls(len(values), statistics.median(values), p99, values[-1], prober.failures)

    def __str__(self) -> str:
        return (
            f"{self.samples} probes: p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms, "
            f"max {self.worst:.1f} ms, {self.failures} failed"
        )


@dataclass(frozen=True)
class Pushed:
    status: int
    seconds: float
    run: dict


@contextlib.contextmanager
def hub_worker(url: str, instance_path: Path) -> Iterator[subprocess.Popen]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "DATABASE_URL": url,
        "SECRET_KEY": common.SECRET_KEY,
        "HUB_INSTANCE_PATH": str(instance_path),
    }
    command = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "hub", "worker"]
    with open(instance_path / "worker.log", "wb") as log:
        process = subprocess.Popen(command, env=env, cwd=common.ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def push_both(server: common.Server, pushes: list[tuple[str, bytes, str, str]]) -> list[Pushed]:
    """POST every (token, body, content type, query) at the same moment; return each answer."""
    answers: list[Pushed | None] = [None] * len(pushes)
    start = threading.Barrier(len(pushes))

    def send(i: int, token: str, body: bytes, content_type: str, query: str) -> None:
        start.wait()
        began = time.perf_counter()
        response = requests.post(
            f"{server.base_url}/vendor-api/v1/inventory{query}",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
            timeout=600,
        )
        # The issue's set-up answers some pushes with gunicorn's bare 500 when it kills the worker.
        run = response.json() if response.headers.get("Content-Type", "").endswith("json") else {}
        answers[i] = Pushed(response.status_code, time.perf_counter() - began, run)

    threads = [threading.Thread(target=send, args=(i, *p)) for i, p in enumerate(pushes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [a for a in answers if a is not None]


def wait_applied(
    server: common.Server, tokens: list[str], answers: list[Pushed], limit: float = 900
) -> list[dict]:
    deadline = time.monotonic() + limit
    runs = [a.run for a in answers]
    while any(run.get("status") == "queued" for run in runs):  # a failed push has no run: {}
        if time.monotonic() > deadline:
            raise RuntimeError(f"runs still queued after {limit} s: {runs}")
        time.sleep(0.5)
        runs = [
            requests.get(
                f"{server.base_url}/vendor-api/v1/feed-runs/{run['id']}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            ).json()
            if run
            else run
            for token, run in zip(tokens, runs, strict=True)
        ]
    return runs


def measure(label: str, url: str, instance_path: Path, vendors, bodies, options, env, idle_seconds: float):
    with (
        common.gunicorn(
            "wsgi:app",
            database_url=url,
            instance_path=instance_path,
            options=options,
            env=env,
            timeout=PRODUCTION_TIMEOUT if "gthread" in options else 30,
        ) as server,
        hub_worker(url, instance_path),
    ):
        tokens = [common.issue_token(server.base_url, vendor) for vendor in vendors]
        with Prober(server.base_url) as idle:
            time.sleep(idle_seconds)
        idle_latency = Latency.of(idle)
        print(f"[{label}] idle: {idle_latency}", flush=True)
        pushes = [
            (tokens[0], bodies[0], "application/json", ""),
            (tokens[1], bodies[1], "text/csv", "?mode=full"),
        ]
        began = time.perf_counter()
        with Prober(server.base_url) as busy:
            answers = push_both(server, pushes)
            uploaded = time.perf_counter() - began
            uploads_done = time.perf_counter()
            runs = wait_applied(server, tokens, answers)
        window = time.perf_counter() - began
        busy_latency = Latency.of(busy)
        upload_latency = Latency.of(busy, before=uploads_done)
        print(f"[{label}] during pushes ({window:.1f} s): {busy_latency}", flush=True)
        print(
            f"[{label}]   of which during the two requests ({uploaded:.1f} s): {upload_latency}", flush=True
        )
        for answer, run in zip(answers, runs, strict=True):
            outcome = (
                f"run {run['id']} {run['status']}, {run['rows_applied']:,} rows applied in {run['duration_ms']} ms"
                if run
                else "no feed run in the answer"
            )
            print(
                f"[{label}]   push answered {answer.status} in {answer.seconds:.2f} s; {outcome}", flush=True
            )
        return idle_latency, busy_latency, upload_latency, answers, runs, uploaded, window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows (and variants) per vendor")
    parser.add_argument("--idle-seconds", type=float, default=8)
    parser.add_argument("--sync-baseline", action="store_true", help="also measure 2 sync workers, no queue")
    args = parser.parse_args()
    print(f"machine: {common.machine()}; PostgreSQL {common.postgres_version()}", flush=True)
    table = []
    with (
        common.scratch_postgres("healthz") as url,
        tempfile.TemporaryDirectory(prefix="dropnet_bench_") as tmp,
    ):
        instance_path = Path(tmp)
        app = common.build_hub(url, instance_path)
        print(f"seeding 2 vendors × {args.rows:,} variants and a retailer item each ...", flush=True)
        vendors = seed(app, args.rows)
        setups = [("production (README)", PRODUCTION, {}, 0)]
        if args.sync_baseline:
            setups.append(
                ("issue's set-up: 2 sync, no queue", ISSUE_SETUP, {"HUB_ASYNC_PUSH_BYTES": "1000000000"}, 1)
            )
        for label, options, env, shift in setups:
            # Each setup pushes new counts (quantities moved on), so no run is skipped as a repeat.
            bodies = [
                json_body(skus("A", args.rows), JSON_BYTES, shift),
                csv_body(skus("B", args.rows), CSV_BYTES, shift),
            ]
            idle, busy, during_requests, answers, runs, uploaded, window = measure(
                label, url, instance_path, vendors, bodies, options, env, args.idle_seconds
            )
            table.append(
                common.Row(
                    label,
                    busy.p99,
                    "ms p99",
                    ceiling=idle.p99,
                    extra={
                        "p50 during": f"{busy.p50:.1f} ms",
                        "max during": f"{busy.worst:.0f} ms",
                        "p99 while the POSTs ran": f"{during_requests.p99:.1f} ms ({during_requests.samples} probes)",
                        "probes": f"{busy.samples} ({busy.failures} failed)",
                        "answers": " / ".join(f"{a.status} in {a.seconds:.2f} s" for a in answers),
                        "window": f"{window:.1f} s (uploads {uploaded:.1f} s)",
                    },
                    notes=(
                        f"{' '.join(options)}; bodies {common.megabytes(len(bodies[0]))} JSON and "
                        f"{common.megabytes(len(bodies[1]))} CSV, {args.rows:,} rows each; runs "
                        + ", ".join(r.get("status", "none") for r in runs)
                    ),
                )
            )
    common.print_table(
        "/healthz p99 during two concurrent large pushes (ceiling: idle p99, same server; ratio = during / idle)",
        table,
    )


if __name__ == "__main__":
    main()
