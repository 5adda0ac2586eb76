"""One order's round trips to PostgreSQL and Python CPU, in process, for this checkout and others.

    .venv/bin/python bench/order_round_trips.py [--orders 200] [--rounds 3] [--against DIR ...]

Seeds a scratch PostgreSQL database as bench/order_placement.py does, then one client places
1-line orders on random items through the Flask test client (no gunicorn, no HTTP parsing, one
connection) and reports per order: the statements sent (every cursor execute, plus BEGIN and
COMMIT), the Python CPU of the process and the wall time, as medians over the orders. With
`--against DIR` (another checkout, e.g. `git worktree add --detach /tmp/old REV`) each round
runs that checkout and this one alternately, each in its own child process and database, so
both see the same machine; the ratios are printed per round.

Environment: BENCH_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import base64, json, random, statistics, sys, time, uuid
checkout, orders = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, checkout)
from bench.order_placement import scratch_database, seed
import sqlalchemy as sa
from network.extensions import db

name = f"dropnet_bench_trips_{uuid.uuid4().hex[:6]}"
with scratch_database(name) as url:
    seeded = seed(url.replace("postgresql://", "postgresql+psycopg://", 1))
    app = seeded["app"]
    client = app.test_client()
    client_id, secret = seeded["clients"][0]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {basic}"}).get_json()["access_token"]
    statements = [0]
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.__setitem__(0, statements[0] + 1))
    rng = random.Random(7)
    counts, cpus, walls = [], [], []
    for n in range(orders + 20):  # the first 20 warm the caches and the pool
        body = {"reference": "bench", "lines": [{"retailer_sku": rng.choice(seeded["random_skus"]), "quantity": 1}],
                "ship_to": {"name": "B", "address1": "1 Main", "city": "X", "postal_code": "1", "country": "US"}}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        statements[0] = 0
        cpu, wall = time.process_time(), time.perf_counter()
        response = client.post("/api/v1/orders", json=body, headers=headers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert response.status_code == 201, response.get_data(as_text=True)
        if n >= 20:
            counts.append(statements[0] + 2)  # + BEGIN and COMMIT
            cpus.append(cpu * 1000)
            walls.append(wall * 1000)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
print(json.dumps({"round_trips": statistics.median(counts), "cpu_ms": statistics.median(cpus),
                  "wall_ms": statistics.median(walls)}))
"""


def run(checkout: Path, orders: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(checkout), str(orders)],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, action="append", default=[])
    args = parser.parse_args()
    checkouts = [*(path.resolve() for path in args.against), ROOT]
    results: dict[Path, list[dict]] = {path: [] for path in checkouts}
    print(f"{'round':<7}{'checkout':<40}{'round trips':>12}{'CPU ms':>9}{'wall ms':>9}")
    for round_no in range(1, args.rounds + 1):
        for path in checkouts:
            result = run(path, args.orders)
            results[path].append(result)
            print(
                f"{round_no:<7}{str(path)[-39:]:<40}{result['round_trips']:>12}"
                f"{result['cpu_ms']:>9.2f}{result['wall_ms']:>9.2f}",
                flush=True,
            )
    print("medians over rounds:")
    for path in checkouts:
        cpu = statistics.median(r["cpu_ms"] for r in results[path])
        wall = statistics.median(r["wall_ms"] for r in results[path])
        trips = statistics.median(r["round_trips"] for r in results[path])
        print(
            f"  {str(path)[-39:]:<40} {trips:>5} round trips, CPU {cpu:.2f} ms, wall {wall:.2f} ms per order"
        )
    if args.against:
        mine = results[ROOT]
        for path in checkouts[:-1]:
            ratios = [m["cpu_ms"] / o["cpu_ms"] for m, o in zip(mine, results[path], strict=True)]
            print(f"  CPU this / {path.name}, per round: " + ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
