"""Fixtures: a streaming replica of the test server (one per test process), and an app reading from it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from network.extensions import db
from tests.conftest import PG_URL, REQUIRE_POSTGRES, make_app
from tests.replica.cluster import Replica, ReplicaUnavailable, allow_replication


@pytest.fixture(scope="session")
def replica_cluster(pg_admin_engine) -> Iterator[Replica]:
    replica = Replica(PG_URL, pg_admin_engine)
    try:
        allow_replication(pg_admin_engine)
        replica.create()
        replica.wait_caught_up()
    except (ReplicaUnavailable, OSError) as error:
        replica.remove()
        if REQUIRE_POSTGRES:
            pytest.fail(f"REQUIRE_POSTGRES=1 but no streaming replica could be made: {error}")
        pytest.skip(f"no streaming replica: {error}")
    yield replica
    replica.remove()


@pytest.fixture
def replica(replica_cluster: Replica) -> Iterator[Replica]:
    """The replica, left replaying and running for the next test whatever this one did to it."""
    yield replica_cluster
    if not replica_cluster.is_running():
        replica_cluster.start()
    replica_cluster.resume()


@pytest.fixture
def make_replica_app(pg_schema_url, replica: Replica) -> Iterator[Callable[..., Flask]]:
    """make(**config): the app on a fresh schema of the primary, reading from `replica` (once a test)."""
    made: list[Flask] = []

    def make(replica_url: str | None = None, **config: object) -> Flask:
        url, options = pg_schema_url
        app = make_app(url, options, DATABASE_REPLICA_URL=replica_url or replica.url, **config)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["hub_reads"].replica.dispose()
