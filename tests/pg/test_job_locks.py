"""The workers' one-at-a-time jobs (flag evaluation, feed health, making history months) lock per hub.

A lock taken in one schema stops a second worker of the same hub, never a hub in another schema of
the same database: before, the tests' schemas side by side skipped each other's flag evaluations.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import try_job_lock

pytestmark = pytest.mark.postgres


def test_a_job_lock_stops_the_same_hub_only(request):
    first, other = (_engine_on_new_schema(request) for _ in range(2))
    with Session(first) as holder, Session(first) as same_hub, Session(other) as other_hub:
        assert try_job_lock(holder, "flag evaluation")
        assert not try_job_lock(same_hub, "flag evaluation")
        assert try_job_lock(same_hub, "feed health")  # another job of the same hub is not held
        assert try_job_lock(other_hub, "flag evaluation")
        holder.rollback()  # the lock goes with the transaction
        assert try_job_lock(same_hub, "flag evaluation")


def _engine_on_new_schema(request) -> sa.Engine:
    admin = request.getfixturevalue("pg_admin_engine")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(admin.url, connect_args={"options": f"-csearch_path={schema}"})

    def drop() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))

    request.addfinalizer(drop)
    return engine
