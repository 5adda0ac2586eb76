"""Making this month's history partition while a write of this month is under way (PostgreSQL).

Found by tests/pg/test_many_processes.py: on a schema with only the default partitions, three
workers' first history job attached this month's partitions while a feed was being recorded, and
the feed's ledger insert failed ("violates partition constraint" of the default partition).
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
from network.history import months
from network.partitions import month_start, partition_name
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
