"""Read replica: what routing costs a read and a write, against the same reads on the primary alone.

    python bench/replica_reads.py [--items 2000] [--reads 400] [--writes 100] [--repeat 3]

Set-up (not measured): a retailer with N items sourced from one vendor, in a scratch schema of
the benchmark database, and a real streaming replica of the cluster (tests/replica/cluster.py:
pg_basebackup, pg_ctl on a free port; removed at the end).

Measured in this process through Flask's test client, one request at a time (the machine is
shared: no load generator), rounds alternating between the configurations:
- `GET /api/v1/availability?sku=<random>` with no DATABASE_REPLICA_URL: the ceiling, the primary
  alone as before;
- the same with the replica set and caught up (served by the replica; the lag measured at most
  every 100 ms, the default), and with the lag measured before every read (HUB_REPLICA_CHECK_MS=0),
  which is what the per-process cache saves;
- `PUT /api/v1/items/<sku>` (a write) without and with the replica: read-your-writes records the
  organization's mark (the primary's WAL position) after each write, and every routed read looks
  it up on the primary first (network/replica.py).
Medians of the per-request wall times; the ratios are ceiling time / figure time (1.0: no cost).
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import tempfile
import time
from pathlib import Path

import common
import sqlalchemy as sa
from prometheus_client import REGISTRY

sys.path.insert(0, str(common.ROOT))
from network.app import create_app  # noqa: E402
from network.clock import utcnow  # noqa: E402
from network.extensions import db  # noqa: E402
from tests.replica.cluster import Replica, allow_replication  # noqa: E402


def seed(url: str, items: int) -> common.Party:
    app = common.build_hub(url, Path(tempfile.mkdtemp(prefix="dropnet_bench_replica_")))
    now = utcnow()
    with app.app_context():
        session = db.session
        retailer = common.make_party(session, kind="retailer", name="Bench retailer", now=now)
        vendor = common.make_party(session, kind="vendor", name="Bench vendor", now=now)
        common.connect(session, retailer, vendor, now=now)
        skus = [f"V-{i:05d}" for i in range(items)]
        ids = common.bulk_variants(session, vendor_id=vendor.id, skus=skus, now=now, quantity=20, as_of=now)
        common.bulk_items(
            session,
            retailer_id=retailer.id,
            items=[(f"R-{i:05d}", [ids[s]]) for i, s in enumerate(skus)],
            now=now,
        )
        common.analyze(session)
        db.session.remove()
        db.engine.dispose()
    return retailer


def hub(url: str, **config: object):
    return create_app({"DATABASE_URL": url, "SECRET_KEY": common.SECRET_KEY, "TESTING": False, **config})


def token(client, party: common.Party) -> str:
    basic = base64.b64encode(f"{party.client_id}:{party.secret}".encode()).decode()
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def timed(call, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        assert response.status_code < 300, response.get_data(as_text=True)
    return times


def served_by_replica() -> float:
    return REGISTRY.get_sample_value("dropnet_routed_reads_total", {"target": "replica", "reason": ""}) or 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=400)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {common.machine()}; PostgreSQL {common.postgres_version()}")

    admin_url = common.PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with common.scratch_postgres("replica") as url:
        retailer = seed(url, args.items)
        replica = Replica(url.replace("postgresql://", "postgresql+psycopg://", 1), admin)
        started = time.perf_counter()
        allow_replication(admin)
        replica.create()
        replica.wait_caught_up()
        print(f"replica made and caught up in {time.perf_counter() - started:.1f} s")
        try:
            apps = {
                "primary alone": hub(url),
                "replica, lag cached 100 ms": hub(url, DATABASE_REPLICA_URL=replica.url),
                "replica, lag measured per read": hub(
                    url, DATABASE_REPLICA_URL=replica.url, HUB_REPLICA_CHECK_MS=0
                ),
            }
            clients = {name: app.test_client() for name, app in apps.items()}
            headers = {name: {"Authorization": f"Bearer {token(c, retailer)}"} for name, c in clients.items()}
            rng = random.Random(7)
            reads: dict[str, list[float]] = {name: [] for name in apps}
            writes: dict[str, list[float]] = {"primary alone": [], "replica, lag cached 100 ms": []}
            before = served_by_replica()
            for round_ in range(args.repeat + 1):  # round 0 warms the pools and caches up, unmeasured
                for name, client in clients.items():
                    times = timed(
                        lambda c=client, h=headers[name]: c.get(
                            f"/api/v1/availability?sku=R-{rng.randrange(args.items):05d}", headers=h
                        ),
                        args.reads,
                    )
                    if round_:
                        reads[name].append(common.median(times))
                replica.wait_caught_up()
                for name in writes:
                    times = timed(
                        lambda c=clients[name], h=headers[name]: c.put(
                            f"/api/v1/items/W-{rng.randrange(10**9)}",
                            json={"title": "w", "sources": []},
                            headers=h,
                        ),
                        args.writes,
                    )
                    if round_:
                        writes[name].append(common.median(times))
                replica.wait_caught_up()
            replica_share = (served_by_replica() - before) / (2 * args.reads * (args.repeat + 1))
        finally:
            for app in apps.values():
                with app.app_context():
                    db.engine.dispose()
                if "hub_reads" in app.extensions:
                    app.extensions["hub_reads"].replica.dispose()
            replica.remove()

    ceiling = common.median(reads["primary alone"]) * 1000
    rows = [
        common.Row(name, common.median(values) * 1000, "ms", ceiling)
        for name, values in reads.items()
        if name != "primary alone"
    ]
    rows.insert(0, common.Row("primary alone (ceiling)", ceiling, "ms", ceiling))
    common.print_table(f"GET /api/v1/availability?sku=, median of {args.repeat} rounds' medians", rows)
    print(f"share of the routed reads the replica served: {replica_share:.0%}")
    write_ceiling = common.median(writes["primary alone"]) * 1000
    common.print_table(
        f"PUT /api/v1/items/<sku>, median of {args.repeat} rounds' medians",
        [
            common.Row(name, common.median(values) * 1000, "ms", write_ceiling)
            for name, values in writes.items()
        ],
    )
    print("ratio: figure time / ceiling time (100 %: routing costs nothing)")


if __name__ == "__main__":
    main()
