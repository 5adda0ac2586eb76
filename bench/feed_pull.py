"""Feed pulls: the worker's pull job fetching vendor feed URLs over HTTP and applying them on PostgreSQL.

    python bench/feed_pull.py [--rows 100000] [--repeat 3] [--vendors 200] [--skus 1000] [--cycles 3]

Part 1, one big feed. Set-up (not measured) as bench/feed_ingest.py: a vendor with N variants and
positions, a retailer with one item per variant; plus a pull feed (full, every 15 min) whose URL is
a plain HTTP server on 127.0.0.1 in this process. The worker is a separate process (the real
`network.jobs.pull_due_feeds`, as `flask hub worker` runs it), told when to run the job, so its
peak RSS is its own. After a baseline pull, each repetition serves a file where every row changed
and makes the feed due. Measured: the job's wall time (fetch, parse, apply, publish; rows/s) and the
worker's peak RSS. Ceiling, same run: feed_ingest's COPY into a temporary table + INSERT ... ON
CONFLICT DO UPDATE of the same files.

Part 2, many small feeds. 200 vendors x 1,000 SKUs, each with a pull feed every 15 minutes, one
retailer selling every variant; two worker processes. Each cycle serves a new file per vendor (5 %
of rows changed) and makes every feed due at once (the worst case: real schedules spread out), then
runs the pull job in both workers. Measured: the time until every feed was pulled (the work of one
interval), checked that each feed was pulled exactly once; headroom = work time / 15 min. The
backlog stays at zero while that is under 100 %.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import common
import feed_ingest
import sqlalchemy as sa

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.feeds import configs
from network.feeds.address_guard import http_session
from network.feeds.credentials import Credentials
from network.feeds.models import Feed, FeedRun
from network.feeds.pull import OK, PullSettings, PullSource, pull

INTERVAL = dt.timedelta(minutes=15)
CHANGED_SHARE = 0.05


# --- the vendors' web server ----------------------------------------------------------------


class Files:
    """What the feed server answers: path -> bytes, replaced between runs."""

    def __init__(self) -> None:
        self.by_path: dict[str, bytes] = {}
        self.served = 0
        self.lock = threading.Lock()


def serve(files: Files) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = files.by_path.get(self.path)
            if body is None:
                self.send_error(404)
                return
            with files.lock:
                files.served += 1
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- worker processes -------------------------------------------------------------------------


def worker_main(database_url: str) -> None:
    """Run in a child process: on each line "pull" from stdin, run the pull job once and report."""
    from network.app import create_app
    from network.jobs import pull_due_feeds

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": common.SECRET_KEY,
            "HUB_RUN_WORKER": False,
            "HUB_FEED_ALLOWED_HOSTS": "127.0.0.1",
            "HUB_FEED_READ_TIMEOUT": 300,
            "HUB_FEED_TOTAL_TIMEOUT": 900,
        }
    )
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() != "pull":
            break
        with app.app_context():
            started = time.perf_counter()
            runs = pull_due_feeds()
            seconds = time.perf_counter() - started
            report = {
                "seconds": seconds,
                "runs": [(run.feed_id, run.status, run.rows_seen, run.rows_changed) for run in runs],
            }
            db.session.remove()
        print(json.dumps(report), flush=True)


class Worker:
    def __init__(self, database_url: str, instance: Path) -> None:
        env = {**os.environ, "HUB_INSTANCE_PATH": str(instance), "PYTHONPATH": str(common.ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=common.ROOT,
        )
        assert json.loads(self.process.stdout.readline())["ready"]

    def start_pull(self) -> None:
        common.reset_peak_rss([self.process.pid])
        self.process.stdin.write("pull\n")
        self.process.stdin.flush()

    def result(self) -> dict:
        report = json.loads(self.process.stdout.readline())
        report["peak_rss"] = common.peak_rss_bytes([self.process.pid])
        return report

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def make_due(app, feed_ids: list[int] | None = None) -> dt.datetime:
    """Make feeds due now (all of them by default); return the moment."""
    now = utcnow()
    with app.app_context(), transaction(db.session):
        query = sa.update(Feed).values(
            next_run_at=now - dt.timedelta(seconds=1), etag=None, last_modified=None
        )
        if feed_ids is not None:
            query = query.where(Feed.id.in_(feed_ids))
        db.session.execute(query)
    return now


def add_pull_feed(session, vendor_id: int, url: str) -> int:
    with transaction(session):
        feed = configs.create_feed(
            session,
            vendor_id=vendor_id,
            values={
                "name": "export",
                "transport": "pull",
                "url": url,
                "interval_minutes": 15,
                "mode": "full",
            },
            credentials=Credentials(common.SECRET_KEY),
            pull_settings=PullSettings(allowed_hosts=frozenset({"127.0.0.1"})),
            now=utcnow(),
        )
    return feed.id


# --- part 1: one 100,000-row feed ------------------------------------------------------------


def one_big_feed(url: str, rows: int, repeat: int, profile: Path | None = None) -> list[common.Row]:
    files = Files()
    server = serve(files)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory(prefix="dropnet_bench_instance_") as instance:
        app = common.build_hub(url, Path(instance))
        print(f"[big] seeding {rows:,} variants, positions and retailer items ...", flush=True)
        vendor = feed_ingest.seed(app, rows)
        with app.app_context():
            feed_id = add_pull_feed(db.session, vendor.id, base + "/big.csv")
            db.session.remove()
        names = feed_ingest.skus(rows)
        worker = Worker(url, Path(instance))
        try:
            idle = common.rss_bytes([worker.process.pid])
            files.by_path["/big.csv"] = feed_ingest.render_csv(names, feed_ingest.every_row_changed(0, rows))
            make_due(app)
            worker.start_pull()
            baseline = worker.result()
            assert [r[1] for r in baseline["runs"]] == ["applied"], baseline
            served, reports = [], []
            profiling = contextlib.nullcontext()
            if profile is not None:
                profile.mkdir(parents=True, exist_ok=True)
                profiling = common.py_spy(worker.process.pid, profile / "feed-pull-big.folded")
            with profiling:
                for rep in range(1, repeat + 1):
                    pull_once(app, worker, files, names, feed_id, rep, rows, served, reports)
            if profile is not None:
                print(common.summarize_profile(profile / "feed-pull-big.folded"), flush=True)
            fetch = fetch_seconds(base + "/big.csv")
        finally:
            worker.stop()
            server.shutdown()
        ceiling = feed_ingest.ceiling_seconds(url, served, rows)
        print("[big] ceiling: " + ", ".join(f"{s:.3f} s" for s in ceiling), flush=True)
    seconds = common.median(r["seconds"] for r in reports)
    peak = common.median(r["peak_rss"] for r in reports)
    return [
        common.Row(
            f"{rows:,}-SKU full CSV, every row changed, pulled by the worker",
            rows / seconds,
            "rows/s",
            ceiling=rows / common.median(ceiling),
            extra={
                "job wall": f"{seconds:.2f} s",
                "of which the fetch": f"{common.median(fetch):.2f} s",
                "worker peak RSS": common.megabytes(peak),
                "growth over idle": common.megabytes(peak - idle),
            },
            notes=f"file {common.megabytes(len(served[0]))}, idle worker {common.megabytes(idle)}",
        )
    ]


def pull_once(app, worker: Worker, files: Files, names, feed_id, rep, rows, served, reports) -> None:
    """Serve a file where every row changed, make the feed due, run the job; keep the report."""
    body = feed_ingest.render_csv(names, feed_ingest.every_row_changed(rep, rows))
    files.by_path["/big.csv"] = body
    served.append(body)
    make_due(app, [feed_id])
    worker.start_pull()
    report = worker.result()
    assert [(r[1], r[3]) for r in report["runs"]] == [("applied", rows)], report["runs"]
    reports.append(report)
    print(
        f"[big] pull #{rep}: {report['seconds']:.2f} s, peak {common.megabytes(report['peak_rss'])}",
        flush=True,
    )


def fetch_seconds(url: str, times: int = 3) -> list[float]:
    """Time the pull client alone fetching the file (the same code path, nothing applied)."""
    settings = PullSettings(allowed_hosts=frozenset({"127.0.0.1"}))
    timings = []
    with http_session(settings) as http:
        for _ in range(times):
            started = time.perf_counter()
            result = pull(http, PullSource(url=url), settings)
            timings.append(time.perf_counter() - started)
            assert result.outcome == OK, result.reason
    return timings


# --- part 2: 200 vendors x 1,000 SKUs, two workers ---------------------------------------------


def many_small_feeds(url: str, vendors: int, skus: int, cycles: int) -> list[common.Row]:
    files = Files()
    server = serve(files)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    names = [f"SKU-{i:05d}" for i in range(skus)]
    with tempfile.TemporaryDirectory(prefix="dropnet_bench_instance_") as instance:
        app = common.build_hub(url, Path(instance))
        print(f"[many] seeding {vendors} vendors x {skus:,} SKUs and a retailer selling all ...", flush=True)
        now = utcnow()
        with app.app_context():
            session = db.session
            retailer = common.make_party(session, kind="retailer", name="Bench retailer", now=now)
            for v in range(vendors):
                vendor = common.make_party(session, kind="vendor", name=f"Bench vendor {v}", now=now)
                common.connect(session, retailer, vendor, now=now)
                ids = common.bulk_variants(session, vendor_id=vendor.id, skus=names, now=now)
                common.bulk_items(
                    session,
                    retailer_id=retailer.id,
                    items=[(f"V{v}-{sku}", [ids[sku]]) for sku in names],
                    now=now,
                )
                add_pull_feed(session, vendor.id, f"{base}/v{v}.csv")
            common.analyze(session)
            db.session.remove()
        workers = [Worker(url, Path(instance)) for _ in range(2)]
        quantities = [feed_ingest.every_row_changed(v, skus) for v in range(vendors)]
        results = []
        try:
            for cycle in range(cycles + 1):  # cycle 0 sets every position: the baseline
                for v in range(vendors):
                    if cycle:
                        quantities[v] = feed_ingest.some_rows_changed(quantities[v], cycle)
                    files.by_path[f"/v{v}.csv"] = feed_ingest.render_csv(names, quantities[v])
                make_due(app)
                started = time.perf_counter()
                for worker in workers:
                    worker.start_pull()
                reports = [worker.result() for worker in workers]
                work = time.perf_counter() - started
                pulled = [feed_id for report in reports for feed_id, *_ in report["runs"]]
                assert sorted(pulled) == sorted(set(pulled)) and len(pulled) == vendors, (
                    "a feed pulled twice or not"
                )
                assert {status for report in reports for _, status, *_ in report["runs"]} == {"applied"}
                with app.app_context():
                    due = db.session.scalar(
                        sa.select(sa.func.count()).select_from(Feed).where(Feed.next_run_at <= utcnow())
                    )
                    db.session.remove()
                label = "baseline" if cycle == 0 else f"cycle {cycle}"
                split = "/".join(str(len(r["runs"])) for r in reports)
                print(f"[many] {label}: {work:.1f} s for {vendors} feeds (split {split}), due after: {due}")
                if cycle:
                    results.append((work, due, split, max(r["peak_rss"] for r in reports)))
        finally:
            for worker in workers:
                worker.stop()
            server.shutdown()
        with app.app_context():
            runs = db.session.scalar(sa.select(sa.func.count()).select_from(FeedRun))
            db.session.remove()
    work = common.median(w for w, *_ in results)
    return [
        common.Row(
            f"{vendors} vendors x {skus:,} SKUs, every feed due at once, 2 workers",
            work,
            "s",
            extra={
                "headroom (work / 15 min)": f"{work / INTERVAL.total_seconds():.1%}",
                "backlog after": str(max(d for _, d, *_ in results)),
                "feeds per worker": ", ".join(s for *_, s, _ in results),
                "worker peak RSS": common.megabytes(max(p for *_, p in results)),
            },
            notes=f"median of {cycles} cycles, {CHANGED_SHARE:.0%} of rows changed per file; {runs} runs recorded",
        )
    ]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--vendors", type=int, default=200)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--parts", default="big,many")
    parser.add_argument("--profile", type=Path, help="write a py-spy profile of the big pulls here")
    args = parser.parse_args()
    print(f"machine: {common.machine()}; PostgreSQL {common.postgres_version()}")
    rows: list[common.Row] = []
    if "big" in args.parts:
        with common.scratch_postgres("pull") as url:
            rows += one_big_feed(url, args.rows, args.repeat, args.profile)
        common.print_table(
            f"Feed pull: one full CSV of {args.rows:,} SKUs fetched by the worker, median of {args.repeat} "
            "(ceiling: PostgreSQL COPY + INSERT ON CONFLICT of the same file)",
            rows,
        )
    if "many" in args.parts:
        with common.scratch_postgres("pulls") as url:
            many = many_small_feeds(url, args.vendors, args.skus, args.cycles)
        common.print_table("Feed pulls: many vendors on 15-minute schedules, two workers", many)


if __name__ == "__main__":
    main()
