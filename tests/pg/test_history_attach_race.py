"""Making history partitions while writers and other workers are at work (PostgreSQL).

Both found by tests/pg/test_many_processes.py, on a schema with only the default partitions, when
three workers' first history job made this month's partitions: a feed being recorded meanwhile
failed its ledger insert ("violates partition constraint" of the default partition), and two
workers made the same month (the second failed, "relation … already exists").
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.history import months, retention
from network.partitions import add_months, month_start, partition_name
from network.partners.services import create_organization

pytestmark = pytest.mark.postgres


def test_an_insert_under_way_when_this_months_partition_is_made_lands_in_it(pg_app):
    now = utcnow()
    with transaction(db.session):
        org = create_organization(db.session, kind="retailer", name="Writer", now=now)
    assert months.existing(db.session, "events") == {}  # create_all: only the default partition
    db.session.remove()
    engine, failures = db.engine, []

    def writer() -> None:  # an INSERT routed before the attach, its row produced after it
        try:
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO events (org_id, type, key, data, created_at)"
                        " SELECT :org, 'ping', '', '{}', :now FROM (SELECT pg_sleep(1)) AS pause"
                    ),
                    {"org": org.id, "now": now},
                )
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    def maintainer() -> None:
        with Session(engine) as session, transaction(session):
            this_month = month_start(now)
            months.ensure(session, "events", "created_at", this_month, this_month, now=now)

    writing = threading.Thread(target=writer)
    writing.start()
    sleeping = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()"
    )
    deadline = time.monotonic() + 30
    with db.engine.connect() as conn:
        while not conn.execute(sleeping).scalar() and time.monotonic() < deadline:
            time.sleep(0.01)
    making = threading.Thread(target=maintainer)
    making.start()
    writing.join(30)
    making.join(30)

    assert not failures, failures[0]
    where = db.session.scalar(sa.text("SELECT tableoid::regclass::text FROM events WHERE type = 'ping'"))
    assert where == partition_name("events", month_start(now))


def test_two_workers_making_the_months_at_once_make_each_once(pg_app):
    now, engine = utcnow(), db.engine
    (policy,) = [p for p in retention.policies(pg_app.config) if p.table == "events"]
    failures, reports = [], []

    def second_worker() -> None:
        try:
            with Session(engine) as session:
                # Named, so the wait below watches this worker, not another test's on the same server.
                session.execute(sa.text("SET application_name = 'second_history_worker'"))
                session.commit()
                reports.append(retention.maintain(session, pg_app.config, now=now))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    blocked = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND application_name = 'second_history_worker'"
    )
    first, made = Session(engine), retention.Report()
    with transaction(first):  # the first worker's months, not committed yet
        retention.create_ahead(first, policy, now=now, ahead=1, report=made)
        second = threading.Thread(target=second_worker)
        second.start()
        deadline = time.monotonic() + 30
        with engine.connect() as conn:
            # Each look in a transaction of its own: within one, pg_stat_activity keeps showing the
            # first look's answer, and the loop would wait out its deadline.
            while second.is_alive() and not conn.execute(blocked).scalar() and time.monotonic() < deadline:
                conn.rollback()
                time.sleep(0.02)
    first.close()
    second.join(30)

    assert not failures, failures[0]
    this_month = month_start(now)
    assert made.created == [
        partition_name("events", this_month),
        partition_name("events", add_months(this_month, 1)),
    ]
    assert not any(name.startswith("events_") for name in reports[0].created)
    assert sorted(months.existing(db.session, "events")) == [this_month, add_months(this_month, 1)]


@pytest.mark.parametrize("table", ["stock_ledger", "webhook_deliveries", "feed_runs"])
def test_two_workers_dropping_the_same_expired_month_drop_it_once(pg_app, monkeypatch, table):
    """Both workers list the month as expired; the second waits for the table's lock while the first
    drops it, and then finds it gone: reported as dropped by another worker, not an error (it was:
    "table … does not exist" from the DROP, or from the checks that read the month first)."""
    # Long enough that the second worker still waits when the first has dropped the month (the
    # race this is about), whatever the machine's load; the timeout itself is another test's.
    monkeypatch.setattr(retention, "LOCK_TIMEOUT", "60s")
    now, engine = utcnow(), db.engine
    config = {**pg_app.config, "HUB_LEDGER_RETENTION_DAYS": 30, "HUB_FEED_RUN_RETENTION_DAYS": 30}
    retention.maintain(db.session, config, now=now)  # this month and those ahead: nothing to make later
    old = add_months(month_start(now), -3)
    with transaction(db.session):
        months.ensure(db.session, table, _key(table), old, old)
    doomed = partition_name(table, old)
    assert old in months.existing(db.session, table)
    db.session.remove()
    failures, reports = [], {}
    names = ("history_worker_1", "history_worker_2")

    def worker(name: str) -> None:
        try:
            with Session(engine) as session:
                session.execute(sa.text(f"SET application_name = '{name}'"))
                session.commit()
                reports[name] = retention.maintain(session, config, now=now)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name IN :names"
    ).bindparams(sa.bindparam("names", expanding=True))
    workers = [threading.Thread(target=worker, args=(name,)) for name in names]
    with engine.connect() as holder:  # another session holds the table until both workers wait for it
        holder.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        for thread in workers:
            thread.start()
        deadline = time.monotonic() + 30
        # pg_stat_activity is read once per transaction: each look in its own.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while conn.execute(waiting, {"names": list(names)}).scalar() < 2:
                assert time.monotonic() < deadline and all(t.is_alive() for t in workers), failures
                time.sleep(0.02)
        holder.rollback()
    for thread in workers:
        thread.join(60)

    assert not failures, failures[0]
    outcomes = sorted(
        "dropped" if doomed in r.dropped else "elsewhere" if doomed in r.dropped_elsewhere else "?"
        for r in reports.values()
    )
    assert outcomes == ["dropped", "elsewhere"]
    assert not any(doomed in r.kept for r in reports.values())
    assert old not in months.existing(db.session, table)


def _key(table: str) -> str:
    (policy,) = [p for p in retention.POLICIES if p.table == table]
    return policy.key
