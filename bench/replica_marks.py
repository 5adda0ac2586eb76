"""Read-your-writes marks: the primary round trips they cost, timed alone (no replica needed).

    BENCH_DATABASE=<yours> python bench/replica_marks.py [--calls 500] [--repeat 5]

In a scratch schema holding the UNLOGGED `replica_read_marks` table (network/read_marks.py), one
call at a time on one pooled engine, rounds alternating between:
- main's note_write before migration 0027: BEGIN; SELECT pg_current_wal_lsn(); COMMIT;
- note_write now: one autocommit upsert of the organization's mark (network/replica.py);
- the mark lookup a read makes before it may go to the replica: one autocommit primary-key SELECT.
Medians of the rounds' medians (an unmeasured warm-up round first), 50 organizations in turn.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import common
import sqlalchemy as sa

sys.path.insert(0, str(common.ROOT))
from network.replica import _MARK, _NOTE, parse_lsn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {common.machine()}; PostgreSQL {common.postgres_version()}")
    with common.scratch_postgres("marks") as url:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), pool_recycle=1800)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE UNLOGGED TABLE replica_read_marks (org_id integer PRIMARY KEY, lsn bigint NOT NULL)"
            )
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

        def old_note(org: int) -> None:
            with engine.connect() as conn:
                parse_lsn(conn.exec_driver_sql("SELECT pg_current_wal_lsn()::text").scalar_one())
                conn.commit()

        def new_note(org: int) -> None:
            with autocommit.connect() as conn:
                conn.execute(_NOTE, {"org": org}).scalar_one()

        def lookup(org: int) -> None:
            with autocommit.connect() as conn:
                conn.execute(_MARK, {"org": org}).scalar()

        cases = {
            "note_write before 0027 (BEGIN, SELECT, COMMIT)": old_note,
            "note_write now (autocommit upsert)": new_note,
            "mark lookup before a routed read": lookup,
        }
        medians: dict[str, list[float]] = {name: [] for name in cases}
        for round_ in range(args.repeat + 1):
            for name, call in cases.items():
                times = []
                for i in range(args.calls):
                    started = time.perf_counter()
                    call(i % 50)
                    times.append(time.perf_counter() - started)
                if round_:
                    medians[name].append(statistics.median(times))
        engine.dispose()
    for name, values in medians.items():
        rounds = ", ".join(f"{v * 1000:.3f}" for v in values)
        print(f"{name}: {statistics.median(values) * 1000:.3f} ms (rounds: {rounds})")


if __name__ == "__main__":
    main()
