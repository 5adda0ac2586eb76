"""Partitioned history (issue 20): ledger insert rate, the retention job's time, and the order path
while it runs. PostgreSQL only.

    .venv/bin/python bench/history.py [--rows 10000000] [--months 12] [--seconds 15] [--clients 8]

A scratch database seeded like bench/order_placement.py (2 retailers, 1 vendor, 2,005 stocked
variants), its history tables partitioned by month (create_all, then the maintenance job).

1. Insert rate: `--rows` ledger rows spread evenly over the `--months` months before this one,
   written in time order by INSERT … SELECT generate_series in batches of a million, each batch
   into the partitioned `stock_ledger` and, alternately, into an unpartitioned copy with the same
   indexes (`ledger_plain`, the same-run ceiling): rows/s of each and the ratio, median of batches.
2. Retention: the job (network/history/retention.maintain) drops the oldest month whole; timed
   against deleting the same month's rows from the unpartitioned copy (what a row-wise prune does).
3. The order path (gunicorn, wrk, 1-line orders on random items, as bench/order_placement.py),
   `--rounds` rounds of three runs: p50/p99 without the job, while the job drops one more month
   every `--drop-every` seconds, and while row-wise DELETEs of months run on the unpartitioned copy.

Environment: BENCH_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import order_placement as orders  # noqa: E402

from network.extensions import db  # noqa: E402
from network.history.retention import maintain  # noqa: E402
from network.partitions import add_months, month_start  # noqa: E402

BATCH = 1_000_000
LEDGER_COLUMNS = "variant_id, at, reason, changes, feed_run_id"


def _rows_sql(table: str) -> str:
    # What a feed's ledger entry looks like: one variant's quantity moved, with its run.
    return (
        f"INSERT INTO {table} ({LEDGER_COLUMNS})"
        " SELECT :first_variant + (g % :variants), :start + g * :step * interval '1 microsecond', 'feed',"
        " json_build_object('quantity', json_build_array(g % 50, (g + 7) % 50)), g / 1000"
        " FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) g"
    )


def insert_rates(engine: sa.Engine, rows: int, start: dt.datetime, span: dt.timedelta) -> dict:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ledger_plain (LIKE stock_ledger INCLUDING DEFAULTS)")
        conn.exec_driver_sql("ALTER TABLE ledger_plain ADD PRIMARY KEY (id)")
        conn.exec_driver_sql("CREATE INDEX ix_ledger_plain_variant_id ON ledger_plain (variant_id)")
        first_variant, variants = conn.execute(sa.text("SELECT min(id), count(*) FROM vendor_variants")).one()
    params = {
        "first_variant": first_variant,
        "variants": variants,
        "start": start,
        "step": span / dt.timedelta(microseconds=1) / rows,
    }
    rates: dict[str, list[float]] = {"stock_ledger": [], "ledger_plain": []}
    seconds = {"stock_ledger": 0.0, "ledger_plain": 0.0}
    for low in range(0, rows, BATCH):
        high = min(rows, low + BATCH) - 1
        # Alternate which goes first, so that neither always meets a checkpoint the other caused.
        tables = (
            ("stock_ledger", "ledger_plain") if (low // BATCH) % 2 == 0 else ("ledger_plain", "stock_ledger")
        )
        for table in tables:
            began = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(sa.text(_rows_sql(table)), {**params, "low": low, "high": high})
            took = time.perf_counter() - began
            seconds[table] += took
            rates[table].append((high - low + 1) / took)
        print(
            f"  rows {high + 1:>11,}: partitioned {rates['stock_ledger'][-1]:>9,.0f}/s,"
            f" plain {rates['ledger_plain'][-1]:>9,.0f}/s",
            flush=True,
        )
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE stock_ledger")
        conn.exec_driver_sql("ANALYZE ledger_plain")
    return {
        "median": {table: statistics.median(values) for table, values in rates.items()},
        "total": {table: rows / seconds[table] for table in rates},
    }


def run_job(app, now: dt.datetime, keep_days: int) -> tuple[float, list[str]]:
    with app.app_context():
        app.config["HUB_LEDGER_RETENTION_DAYS"] = keep_days
        began = time.perf_counter()
        report = maintain(db.session, app.config, now=now)
        took = time.perf_counter() - began
        db.session.remove()
    return took, [name for name in report.dropped if name.startswith("stock_ledger")]


def delete_month(engine: sa.Engine, month: dt.datetime) -> tuple[float, int]:
    began = time.perf_counter()
    with engine.begin() as conn:
        deleted = conn.execute(
            sa.text("DELETE FROM ledger_plain WHERE at >= :low AND at < :high"),
            {"low": month, "high": add_months(month, 1)},
        ).rowcount
    return time.perf_counter() - began, deleted


def keep_days_dropping(month: dt.datetime, now: dt.datetime) -> int:
    """The retention (days) under which `month` is the newest expired month at `now`."""
    return (now - add_months(month, 1)).days


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--drop-every", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC)
    first = add_months(month_start(now), -args.months)
    name = f"dropnet_bench_history_{uuid.uuid4().hex[:6]}"
    print(f"load before: {os.getloadavg()[0]:.1f}")
    with orders.scratch_database(name) as url:
        hub_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        seeded = orders.seed(hub_url)
        app = seeded["app"]
        with app.app_context():
            app.config["HUB_PARTITION_MONTHS_AHEAD"] = 1
            for back in range(args.months, -1, -1):  # this month and the history months
                maintain(db.session, app.config, now=add_months(month_start(now), -back))
            db.session.remove()
        engine = sa.create_engine(hub_url, poolclass=sa.pool.NullPool)
        print(f"1. {args.rows:,} ledger rows over {args.months} months, batches of {BATCH:,}:")
        rates = insert_rates(engine, args.rows, first, month_start(now) - first)

        print("2. retention of the oldest month:")
        job_seconds, dropped = run_job(app, now, keep_days_dropping(first, now))
        delete_seconds, deleted = delete_month(engine, first)
        print(
            f"  job {job_seconds:.2f} s (dropped {dropped}); DELETE of the same {deleted:,} rows {delete_seconds:.2f} s"
        )

        print(
            f"3. order placement (wrk), {args.rounds} rounds of: quiet, the job dropping months, row DELETEs:"
        )
        port = orders.free_port()
        runs: dict[str, list[dict]] = {"quiet": [], "job": [], "delete": []}
        drops: list[tuple[float, list[str]]] = []
        deletes: list[tuple[float, int]] = []
        droppable = [add_months(first, n) for n in range(1, args.months - 1)]
        deletable = list(droppable)
        with orders.gunicorn(hub_url, port, args.workers, args.threads):
            toks = orders.tokens(port, seeded["clients"])
            orders.wrk(port, seeded["random_skus"], toks, clients=args.clients, seconds=3)  # warm-up

            def load() -> dict:
                return orders.wrk(
                    port, seeded["random_skus"], toks, clients=args.clients, seconds=args.seconds
                )

            def during(work) -> dict:  # noqa: ANN001
                stop = threading.Event()
                thread = threading.Thread(target=work, args=(stop,))
                thread.start()
                result = load()
                stop.set()
                thread.join()
                return result

            def drop_months(stop: threading.Event) -> None:
                while not stop.is_set() and droppable:
                    drops.append(run_job(app, now, keep_days_dropping(droppable.pop(0), now)))
                    stop.wait(args.drop_every)

            def delete_months(stop: threading.Event) -> None:
                while not stop.is_set() and deletable:
                    deletes.append(delete_month(engine, deletable.pop(0)))

            for round_ in range(args.rounds):
                runs["quiet"].append(load())
                runs["job"].append(during(drop_months))
                runs["delete"].append(during(delete_months))
                print(
                    f"  round {round_ + 1}: p99 quiet {runs['quiet'][-1]['p99_ms']:.0f} ms,"
                    f" job {runs['job'][-1]['p99_ms']:.0f} ms, DELETE {runs['delete'][-1]['p99_ms']:.0f} ms",
                    flush=True,
                )
        engine.dispose()
    load = os.getloadavg()[0]
    median = rates["median"]
    print()
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the end")
    print(
        f"insert rate (median of batches): partitioned {median['stock_ledger']:,.0f} rows/s,"
        f" unpartitioned ceiling {median['ledger_plain']:,.0f} rows/s,"
        f" ratio {median['stock_ledger'] / median['ledger_plain']:.2f}"
    )
    print(
        f"insert rate (whole run): partitioned {rates['total']['stock_ledger']:,.0f} rows/s,"
        f" unpartitioned {rates['total']['ledger_plain']:,.0f} rows/s"
    )
    print(
        f"retention of one month ({deleted:,} rows): job {job_seconds:.2f} s vs row DELETE"
        f" {delete_seconds:.2f} s ({delete_seconds / job_seconds:.0f}x)"
    )
    if drops:
        print(
            f"job runs during the order run: {len(drops)}, median {statistics.median(d for d, _ in drops):.2f} s,"
            f" months dropped {sum(len(m) for _, m in drops)}"
        )
    if deletes:
        print(
            f"row DELETEs during the order run: {len(deletes)} months,"
            f" median {statistics.median(d for d, _ in deletes):.2f} s"
        )
    print(f"order runs, medians of {args.rounds} rounds:")
    print(f"{'order run':<28}{'orders/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'p99 / quiet':>13}{'other':>7}")
    quiet_p99 = statistics.median(r["p99_ms"] for r in runs["quiet"])
    for label, key in (
        ("quiet", "quiet"),
        ("retention job dropping", "job"),
        ("row DELETE of months", "delete"),
    ):
        group = runs[key]
        p99 = statistics.median(r["p99_ms"] for r in group)
        print(
            f"{label:<28}{statistics.median(r['per_second'] for r in group):>10.1f}"
            f"{statistics.median(r['p50_ms'] for r in group):>9.1f}{p99:>9.1f}{p99 / quiet_p99:>13.2f}"
            f"{sum(r['other'] + r['errors'] for r in group):>7}"
        )


if __name__ == "__main__":
    main()
