"""The Alembic migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from network.extensions import db
from network.partitions import is_partition


def _migrated_drift(app) -> list:
    db.drop_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    with db.engine.connect() as conn:
        # Month partitions are the maintenance job's tables, not the models' (migrations/env.py).
        opts = {
            "compare_type": True,
            "include_name": lambda name, type_, _: not (type_ == "table" and is_partition(name, db.metadata)),
        }
        context = MigrationContext.configure(conn, opts=opts)
        with warnings.catch_warnings():
            # SQLite cannot reflect expression indexes; the models' one is PostgreSQL's only
            # (ddl_if), and PostgreSQL compares it.
            warnings.filterwarnings(
                "ignore", "autogenerate skipping metadata-specified expression-based index"
            )
            return compare_metadata(context, db.metadata)


def test_migrations_match_the_models(app):
    assert _migrated_drift(app) == []


def test_migrations_downgrade_to_nothing_and_back(app):
    _migrated_drift(app)
    downgrade(directory=app.extensions["migrate"].directory, revision="base")
    assert set(db.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    assert "stock_positions" in db.inspect(db.engine).get_table_names()


def test_channel_buffers_of_zero_become_automatic_and_come_back_as_zero(app):
    """0022: a stored 0 (the old default, which held nothing back) becomes null (automatic, the
    same figures on the fixed model); a positive buffer stays the override it was."""
    import datetime as dt

    import sqlalchemy as sa

    from network.outbox.models import WebhookEndpoint
    from network.partners.models import Organization

    directory = app.extensions["migrate"].directory
    _migrated_drift(app)
    downgrade(directory=directory, revision="0021_likely_short_flags")
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    endpoints = WebhookEndpoint.__table__
    with db.engine.begin() as conn:
        org = conn.execute(
            Organization.__table__.insert().values(
                kind="retailer", name="R", auto_reroute=False, created_at=now
            )
        ).inserted_primary_key[0]
        for buffer in (0, 2):
            conn.execute(
                endpoints.insert().values(
                    org_id=org,
                    url=f"https://example.com/{buffer}",
                    events=["*"],
                    description="",
                    secret_sealed="x",
                    min_interval_seconds=600,
                    buffer=buffer,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )

    def buffers() -> list:
        with db.engine.connect() as conn:
            return list(conn.scalars(sa.select(endpoints.c.buffer).order_by(endpoints.c.url)))

    upgrade(directory=directory, revision="heads")
    assert buffers() == [None, 2]
    downgrade(directory=directory, revision="0021_likely_short_flags")
    assert buffers() == [0, 2]
    upgrade(directory=directory, revision="heads")
