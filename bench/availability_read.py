"""Availability read: GET /api/v1/availability?sku= under gunicorn with 32 concurrent connections.

    python bench/availability_read.py [--items 10000] [--seconds 15] [--connections 32] [--repeat 2]
                                      [--workers 4] [--threads 8]

Set-up (not measured): a retailer with N items on PostgreSQL, each sourced from one vendor
variant and every other one from a second vendor too (1-2 sources), fresh stock on every source.

Measured with wrk (closed loop: every connection keeps one request in flight), a Lua script
drawing a random sku per request and sending the retailer's bearer token: requests/s and p99.
Ceiling, same run, same gunicorn settings: bench/availability_ceiling_app.py, the real app plus
one route doing a single primary-key SELECT through db.session, loaded the same way. The two are
measured alternately, `--repeat` times each, after a short unmeasured warm-up; medians reported.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import common
import sqlalchemy as sa

from network.catalog.models import RetailerItem
from network.clock import utcnow
from network.extensions import db

WARM_UP_SECONDS = 3


def seed(app, items: int) -> tuple[common.Party, int]:
    """Create the retailer, two vendors and the catalog; return the retailer and its first item id."""
    now = utcnow()
    with app.app_context():
        session = db.session
        retailer = common.make_party(session, kind="retailer", name="Bench retailer", now=now)
        vendors = [
            common.make_party(session, kind="vendor", name=f"Bench vendor {n}", now=now) for n in (1, 2)
        ]
        variants = []
        for n, vendor in enumerate(vendors):
            common.connect(session, retailer, vendor, now=now)
            skus = [f"V{n}-{i:05d}" for i in range(items)]
            ids = common.bulk_variants(
                session, vendor_id=vendor.id, skus=skus, now=now, quantity=20 + n, as_of=now
            )
            variants.append([ids[sku] for sku in skus])
        common.bulk_items(
            session,
            retailer_id=retailer.id,
            items=[
                (f"R-{i:05d}", [variants[0][i], variants[1][i]] if i % 2 else [variants[0][i]])
                for i in range(items)
            ],
            now=now,
        )
        first = session.scalar(sa.select(sa.func.min(RetailerItem.id)))
        common.analyze(session)
        db.session.remove()
        db.engine.dispose()
    return retailer, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    options = common.gunicorn_settings(workers=args.workers, worker_class="gthread", threads=args.threads)
    load = {"connections": args.connections, "seconds": args.seconds}

    print(f"machine: {common.machine()}; PostgreSQL {common.postgres_version()}")
    print(
        f"server: gunicorn {' '.join(options)}; load: wrk, {args.connections} connections, {args.seconds} s"
    )
    with common.scratch_postgres("read") as url, tempfile.TemporaryDirectory(prefix="dropnet_bench_") as tmp:
        instance = Path(tmp)
        app = common.build_hub(url, instance)
        print(f"seeding {args.items:,} items with 1-2 sources ...", flush=True)
        retailer, first = seed(app, args.items)
        serve = {"database_url": url, "instance_path": instance, "options": options}
        with (
            common.gunicorn("wsgi:app", **serve) as real,
            common.gunicorn("availability_ceiling_app:app", **serve) as ceiling,
        ):
            headers = {"Authorization": f"Bearer {common.issue_token(real.base_url, retailer)}"}
            targets = {
                "figure": (real, "/api/v1/availability?sku=R-%05d", 0, headers),
                "ceiling": (ceiling, "/bench/items/%d", first, {}),
            }
            results: dict[str, list[common.LoadResult]] = {"figure": [], "ceiling": []}
            for server, path, start, extra in targets.values():
                warm = {**load, "seconds": WARM_UP_SECONDS}
                common.run_wrk(
                    server.base_url, path_template=path, first=start, count=args.items, headers=extra, **warm
                )
            for rep in range(args.repeat):
                for name, (server, path, start, extra) in targets.items():
                    result = common.run_wrk(
                        server.base_url,
                        path_template=path,
                        first=start,
                        count=args.items,
                        headers=extra,
                        **load,
                    )
                    if result.errors:
                        raise SystemExit(f"{name}: {result.errors} answers were not 2xx\n{server.log_tail()}")
                    results[name].append(result)
                    print(f"[{name} #{rep + 1}] {result}", flush=True)

    figure, ceiling_runs = results["figure"], results["ceiling"]
    rps = common.median(r.requests_per_second for r in figure)
    ceiling_rps = common.median(r.requests_per_second for r in ceiling_runs)
    p99 = common.median(r.p99_ms for r in figure)
    ceiling_p99 = common.median(r.p99_ms for r in ceiling_runs)
    common.print_table(
        f"Availability read: {args.connections} connections, {args.seconds} s, median of {args.repeat} "
        f"(gunicorn {' '.join(options)}; ceiling: one primary-key SELECT in the same app)",
        [
            common.Row(
                "GET /api/v1/availability?sku=",
                rps,
                "req/s",
                ceiling=ceiling_rps,
                extra={
                    # Each round measures both one after the other: the steadier reading on a noisy box.
                    "ratio per round": ", ".join(
                        f"{f.requests_per_second / c.requests_per_second:.0%}"
                        for f, c in zip(figure, ceiling_runs, strict=True)
                    ),
                    "p50": f"{common.median(r.p50_ms for r in figure):.1f} ms",
                    "p99": f"{p99:.1f} ms",
                    "ceiling p99": f"{ceiling_p99:.1f} ms",
                },
                notes=f"{args.items:,} items, 1-2 sources each; unanswered/socket errors: "
                + ", ".join(f"{name} {sum(r.socket_errors for r in runs)}" for name, runs in results.items()),
            )
        ],
    )


if __name__ == "__main__":
    main()
