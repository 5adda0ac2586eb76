"""Feed ingest: a full feed of 100,000 SKUs pushed as CSV through the real endpoint onto existing positions.

    python bench/feed_ingest.py [--rows 100000[,1000000]] [--repeat 3] [--backends postgres,sqlite] [--profile DIR]

Set-up (not measured): a vendor with N variants and stock positions, a retailer with one item per
variant (so availability is recomputed and published for what changed), a gunicorn server with
one sync worker (so the peak memory is that process), pushes applied in the request (the queue's
threshold, HUB_ASYNC_PUSH_BYTES, above the file sizes). A baseline full push sets every position;
then, repeated, a push where every row changed and a push where 5 % of rows changed.

Measured: wall time of POST /vendor-api/v1/inventory?mode=full (upload included) as rows/s, and
the worker's peak RSS during the push. Ceiling, same run, on PostgreSQL: COPY of the same CSV
into a temporary table, then INSERT ... ON CONFLICT (sku) DO UPDATE into an N-row table of the
same shape, timed whole (from BEGIN to COMMIT).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import common
import psycopg
import requests
import sqlalchemy as sa

from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.stock.models import StockPosition

CHANGED_SHARE = 0.05
# Apply every push in the request, in the measured worker, instead of queueing the big ones.
SYNCHRONOUS = {"HUB_ASYNC_PUSH_BYTES": str(10**10)}


@dataclass(frozen=True)
class Push:
    seconds: float
    server_ms: int
    peak_rss: int
    rows_changed: int


@dataclass
class Case:
    name: str
    files: list[bytes]
    pushes: list[Push]


def skus(rows: int) -> list[str]:
    return [f"BENCH-SKU-{i:06d}" for i in range(rows)]


def render_csv(names: list[str], quantities: list[int]) -> bytes:
    """Render the feed: sku,quantity,damaged,pending_inspection (damaged and pending stay put)."""
    lines = ["sku,quantity,damaged,pending_inspection"]
    lines.extend(
        f"{sku},{qty},{i % 3},{i % 2}" for i, (sku, qty) in enumerate(zip(names, quantities, strict=True))
    )
    return ("\n".join(lines) + "\n").encode()


def every_row_changed(state: int, rows: int) -> list[int]:
    """Quantities for full state `state`: every row differs from the previous state's (7 apart mod 50)."""
    return [1 + (i + 7 * state) % 50 for i in range(rows)]


def some_rows_changed(base: list[int], rep: int) -> list[int]:
    """Change one row in twenty of `base`, a different twentieth each repetition."""
    step = round(1 / CHANGED_SHARE)
    return [qty + 100 + rep if i % step == rep % step else qty for i, qty in enumerate(base)]


def seed(app, rows: int) -> common.Party:
    """Create the vendor, its retailer and the catalog; return the vendor."""
    now = utcnow()
    with app.app_context():
        session = db.session
        vendor = common.make_party(session, kind="vendor", name="Bench vendor", now=now)
        retailer = common.make_party(session, kind="retailer", name="Bench retailer", now=now)
        common.connect(session, retailer, vendor, now=now)
        if app.config["DATABASE_URL"].startswith("postgresql"):
            seed_in_database(session, vendor_id=vendor.id, retailer_id=retailer.id, rows=rows, now=now)
        else:
            names = skus(rows)
            variant_ids = common.bulk_variants(session, vendor_id=vendor.id, skus=names, now=now)
            common.bulk_items(
                session,
                retailer_id=retailer.id,
                items=[(f"R-{sku}", [variant_ids[sku]]) for sku in names],
                now=now,
            )
        common.analyze(session)
        db.session.remove()
        db.engine.dispose()
    return vendor


def seed_in_database(session, *, vendor_id: int, retailer_id: int, rows: int, now) -> None:
    """The rows common.bulk_variants and bulk_items write, made by PostgreSQL from generate_series:
    a million variants, positions, items and sources in a minute or two, with no row in Python."""
    variants, positions = VendorVariant.__table__, StockPosition.__table__
    items, sources = RetailerItem.__table__, ItemSource.__table__
    i = sa.func.generate_series(0, rows - 1).column_valued("i")
    sku = sa.literal("BENCH-SKU-") + sa.func.lpad(sa.cast(i, sa.Text), 6, "0")
    mine = variants.c.vendor_id == vendor_id
    with transaction(session):
        session.execute(
            variants.insert().from_select(
                [
                    "vendor_id",
                    "vendor_sku",
                    "title",
                    "attributes",
                    "image_urls",
                    "active",
                    "created_at",
                    "updated_at",
                ],
                sa.select(
                    sa.literal(vendor_id),
                    sku,
                    sa.literal("Bench item ") + sku,
                    sa.literal({}, sa.JSON),
                    sa.literal([], sa.JSON),
                    sa.true(),
                    sa.literal(now, variants.c.created_at.type),
                    sa.literal(now, variants.c.updated_at.type),
                ),
            )
        )
        session.execute(
            positions.insert().from_select(
                ["variant_id", "vendor_id", "quantity", "updated_at"],
                sa.select(
                    variants.c.id,
                    variants.c.vendor_id,
                    sa.literal(0),
                    sa.literal(now, positions.c.updated_at.type),
                ).where(mine),
            )
        )
        session.execute(
            items.insert().from_select(
                ["retailer_id", "retailer_sku", "title", "created_at", "updated_at"],
                sa.select(
                    sa.literal(retailer_id),
                    sa.literal("R-") + variants.c.vendor_sku,
                    sa.literal(""),
                    sa.literal(now, items.c.created_at.type),
                    sa.literal(now, items.c.updated_at.type),
                ).where(mine),
            )
        )
        session.execute(
            sources.insert().from_select(
                ["item_id", "variant_id", "priority"],
                sa.select(items.c.id, variants.c.id, sa.literal(0))
                .join_from(items, variants, items.c.retailer_sku == sa.literal("R-") + variants.c.vendor_sku)
                .where(mine, items.c.retailer_id == retailer_id),
            )
        )


def push(server: common.Server, token: str, body: bytes, *, expect_changed: int) -> Push:
    """Push one full CSV feed and measure it. Raises AssertionError when the run is not applied whole."""
    pids = server.worker_pids()
    common.reset_peak_rss(pids)
    started = time.perf_counter()
    response = requests.post(
        server.base_url + "/vendor-api/v1/inventory?mode=full",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=900,
    )
    seconds = time.perf_counter() - started
    peak = common.peak_rss_bytes(pids)
    assert response.status_code == 200, f"{response.text[:2000]}\n{server.log_tail()}"
    run = response.json()
    assert run["status"] == "applied", run
    assert run["rows_changed"] == expect_changed, (run["rows_changed"], expect_changed)
    return Push(seconds, run["duration_ms"], peak, run["rows_changed"])


@contextlib.contextmanager
def profiled(pid: int, directory: Path | None, name: str) -> Iterator[None]:
    """Record a py-spy profile of the worker while the block runs, when a directory is given."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    with common.py_spy(pid, directory / f"{name}.folded"):
        yield


def measure_backend(
    label: str, url: str, rows: int, repeat: int, profile: Path | None
) -> tuple[int, list[Case]]:
    """Seed a fresh database, serve it, push the feeds; return the worker's idle RSS and the cases."""
    with tempfile.TemporaryDirectory(prefix="dropnet_bench_instance_") as instance:
        instance_path = Path(instance)
        app = common.build_hub(url, instance_path)
        print(f"[{label}] seeding {rows:,} variants, positions and retailer items ...", flush=True)
        vendor = seed(app, rows)
        names = skus(rows)
        options = common.gunicorn_settings(workers=1, worker_class="sync")
        with common.gunicorn(
            "wsgi:app", database_url=url, instance_path=instance_path, options=options, env=SYNCHRONOUS
        ) as server:
            token = common.issue_token(server.base_url, vendor)
            (worker,) = server.worker_pids()
            idle = common.rss_bytes([worker])
            print(f"[{label}] baseline push ...", flush=True)
            state = every_row_changed(0, rows)
            push(server, token, render_csv(names, state), expect_changed=rows)

            every = Case("every row changed", [], [])
            with profiled(worker, profile, f"{label}-every-row-changed"):
                for rep in range(1, repeat + 1):
                    state = every_row_changed(rep, rows)
                    every.files.append(render_csv(names, state))
                    every.pushes.append(push(server, token, every.files[-1], expect_changed=rows))
                    print(f"[{label}] every row changed #{rep}: {every.pushes[-1]}", flush=True)

            some = Case(f"{CHANGED_SHARE:.0%} changed", [], [])
            with profiled(worker, profile, f"{label}-5pct-changed"):
                for rep in range(repeat):
                    changed = some_rows_changed(state, rep)
                    expected = sum(1 for a, b in zip(state, changed, strict=True) if a != b)
                    some.files.append(render_csv(names, changed))
                    some.pushes.append(push(server, token, some.files[-1], expect_changed=expected))
                    state = changed
                    print(f"[{label}] {some.name} #{rep + 1}: {some.pushes[-1]}", flush=True)
    return idle, [every, some]


CEILING_TABLE = """
DROP TABLE IF EXISTS ceiling_stock;
CREATE TABLE ceiling_stock (
    sku text PRIMARY KEY,
    quantity integer NOT NULL,
    damaged integer NOT NULL,
    pending_inspection integer NOT NULL
);
INSERT INTO ceiling_stock
SELECT 'BENCH-SKU-' || lpad(i::text, 6, '0'), 0, 0, 0 FROM generate_series(0, {rows} - 1) AS i;
"""
CEILING_STATEMENTS = (
    "CREATE TEMP TABLE incoming (sku text, quantity integer, damaged integer, pending_inspection integer)"
    " ON COMMIT DROP",
    "COPY incoming FROM STDIN (FORMAT csv, HEADER true)",
    "INSERT INTO ceiling_stock SELECT * FROM incoming ON CONFLICT (sku) DO UPDATE SET"
    " quantity = EXCLUDED.quantity, damaged = EXCLUDED.damaged, pending_inspection = EXCLUDED.pending_inspection",
)


def ceiling_seconds(url: str, files: list[bytes], rows: int) -> list[float]:
    """Time, for each file, COPY into a temp table + INSERT ... ON CONFLICT (sku) DO UPDATE, BEGIN to COMMIT.

    Each timing starts from a freshly loaded, vacuumed N-row table (set-up not timed), so the
    ceiling is the best case and does not drift with the dead rows earlier runs leave behind.
    """
    create, copy_sql, upsert = CEILING_STATEMENTS
    timings = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        for body in files:
            conn.execute(CEILING_TABLE.format(rows=int(rows)))
            conn.execute("VACUUM ANALYZE ceiling_stock")
            started = time.perf_counter()
            with conn.transaction():
                conn.execute(create)
                with conn.cursor().copy(copy_sql) as copy:
                    copy.write(body)
                conn.execute(upsert)
            timings.append(time.perf_counter() - started)
        conn.execute("DROP TABLE ceiling_stock")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="100000", help="catalog sizes, comma-separated: 100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--profile", type=Path, help="write py-spy profiles of the measured pushes here")
    args = parser.parse_args()
    backends = args.backends.split(",")

    print(f"machine: {common.machine()}; PostgreSQL {common.postgres_version()}")
    print("server: gunicorn " + " ".join(common.gunicorn_settings(workers=1, worker_class="sync")))
    for rows in (int(n) for n in args.rows.split(",")):
        measure_size(rows, args.repeat, backends, args.profile)


def measure_size(rows: int, repeat: int, backends: list[str], profile: Path | None) -> None:
    """Measure one catalog size on each backend and print its table."""
    results: dict[str, tuple[int, list[Case]]] = {}
    ceilings: dict[str, float] = {}
    with common.scratch_postgres("feed") as pg_url:
        if "postgres" in backends:
            results["PostgreSQL"] = measure_backend("postgres", pg_url, rows, repeat, profile)
        if "sqlite" in backends:
            with common.scratch_sqlite("feed") as sqlite_url:
                results["SQLite"] = measure_backend("sqlite", sqlite_url, rows, repeat, profile)
        cases = next(iter(results.values()))[1]
        for case in cases:
            seconds = ceiling_seconds(pg_url, case.files, rows)
            ceilings[case.name] = rows / common.median(seconds)
            print(f"[ceiling] {case.name}: " + ", ".join(f"{s:.3f} s" for s in seconds), flush=True)

    table = []
    for backend, (idle, cases) in results.items():
        for case in cases:
            seconds = common.median(p.seconds for p in case.pushes)
            peak = common.median(p.peak_rss for p in case.pushes)
            size = len(case.files[0])
            table.append(
                common.Row(
                    f"{backend}, {case.name}",
                    rows / seconds,
                    "rows/s",
                    ceiling=ceilings[case.name],
                    extra={
                        "wall": f"{seconds:.2f} s",
                        "in service": f"{common.median(p.server_ms for p in case.pushes) / 1000:.2f} s",
                        "peak RSS": common.megabytes(peak),
                        "growth over idle": common.megabytes(peak - idle),
                        "growth / file": f"{(peak - idle) / size:.1f}x",
                    },
                    notes=f"file {common.megabytes(size)}, idle worker {common.megabytes(idle)}",
                )
            )
    common.print_table(
        f"Feed ingest: full CSV feed of {rows:,} SKUs, median of {repeat} "
        "(ceiling: PostgreSQL COPY + INSERT ON CONFLICT of the same file)",
        table,
    )


if __name__ == "__main__":
    main()
