"""The Alembic migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from network.extensions import db


def _migrated_drift(app) -> list:
    db.drop_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
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
