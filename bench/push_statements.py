"""One-row stock pushes in process: statements, time in the database and round trip per push.

    python bench/push_statements.py [--pushes 120]

Set-up (not measured): a scratch PostgreSQL schema; a vendor with two variants, a retailer selling
one of them. Then `--pushes` sequential pushes of one row (a new quantity each time) through
POST /vendor-api/v1/inventory with Flask's test client, in this process (no HTTP server, no
webhook worker: the push alone, what bench/propagation.py's ceiling measures through gunicorn).
Counted with SQLAlchemy's cursor events, the first 10 pushes left out: statements per push, the
time spent in them, and the push's wall time (p50 of each); then every statement's p50.
"""

from __future__ import annotations

import argparse
import base64
import collections
import statistics
import tempfile
import time
from pathlib import Path

import common
import sqlalchemy as sa

from network.clock import utcnow
from network.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pushes", type=int, default=120)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    with common.scratch_postgres("push") as url:
        app = common.build_hub(url, Path(tempfile.mkdtemp(prefix="dropnet_push_")))
        now = utcnow()
        with app.app_context():
            session = db.session
            vendor = common.make_party(session, kind="vendor", name="V", now=now)
            ids = common.bulk_variants(session, vendor_id=vendor.id, skus=["ONE", "ALL"], now=now, as_of=now)
            retailer = common.make_party(session, kind="retailer", name="R", now=now)
            common.connect(session, retailer, vendor, now=now)
            common.bulk_items(session, retailer_id=retailer.id, items=[("R-ONE", [ids["ONE"]])], now=now)
            common.analyze(session)
            db.session.remove()
            engine = db.engine
        client = app.test_client()
        basic = base64.b64encode(f"{vendor.client_id}:{vendor.secret}".encode()).decode()
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        ).json["access_token"]
        per_statement: dict[str, list[float]] = collections.defaultdict(list)
        current = {"seconds": 0.0, "count": 0}

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, *rest) -> None:
            conn.info["started"] = time.perf_counter()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, *rest) -> None:
            spent = time.perf_counter() - conn.info["started"]
            current["seconds"] += spent
            current["count"] += 1
            per_statement[" ".join(statement.split())[:90]].append(spent)

        walls, in_db, counts = [], [], []
        for quantity in range(1, args.pushes + 1):
            current.update(seconds=0.0, count=0)
            started = time.perf_counter()
            response = client.post(
                "/vendor-api/v1/inventory",
                json={"mode": "delta", "rows": [{"sku": "ONE", "quantity": quantity}]},
                headers={"Authorization": f"Bearer {token}"},
            )
            wall = time.perf_counter() - started
            assert response.status_code == 200 and response.json["status"] == "applied", response.json
            if quantity > 10:
                walls.append(wall)
                in_db.append(current["seconds"])
                counts.append(current["count"])
        for statement, spent in per_statement.items():
            print(f"{statistics.median(spent) * 1000:6.2f} ms  x{len(spent):<4} {statement}")
        print(
            f"push p50 {statistics.median(walls) * 1000:.1f} ms; in statements p50 "
            f"{statistics.median(in_db) * 1000:.1f} ms; statements per push {statistics.median(counts):.0f}"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
