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
            while second.is_alive() and not conn.execute(blocked).scalar() and time.monotonic() < deadline:
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
