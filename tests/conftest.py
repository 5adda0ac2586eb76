"""Fixtures: an app on a fresh database per test, on SQLite always and on PostgreSQL when configured.

`TEST_DATABASE_URL` adds PostgreSQL; with `REQUIRE_POSTGRES=1` an unreachable server fails the
run instead of skipping it (CI sets both).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from network.app import create_app
from network.config import normalize_database_url
from network.extensions import db
from tests import builders

PG_URL = normalize_database_url(os.environ.get("TEST_DATABASE_URL", ""))
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_POSTGRES and not PG_URL:
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres") and not PG_URL:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL tests need TEST_DATABASE_URL"))


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable and REQUIRE_POSTGRES=1: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema_url(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict]]:
    """A fresh PostgreSQL schema for one test: (url, engine options pinning search_path)."""
    admin = request.getfixturevalue("pg_admin_engine")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    options = {"connect_args": {"options": f"-csearch_path={schema}"}, "pool_size": 40, "max_overflow": 10}
    yield PG_URL, options
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def make_app(url: str, engine_options: dict, **extra: object):
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None and not sqlite_file.exists():
        shutil.copyfile(_sqlite_template(), sqlite_file)  # what create_all would write, byte for byte
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, **engine_options},
            "PUBLIC_URL": "http://hub.test",
            **extra,
        }
    )
    if sqlite_file is None:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                _create_postgres_tables()
            else:
                db.create_all()
    return app


def _sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:///<file> URL (None for other URLs and in-memory databases)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix) :] in ("", ":memory:") or "?" in url:
        return None
    return Path(url[len(prefix) :])


@functools.cache
def _sqlite_template() -> Path:
    """A database file made by create_all once per process: each test's database is a copy of it.

    Every test still starts on a fresh, empty file with the whole schema; only the hundred-odd
    CREATE statements (and a Flask app to run them) are no longer paid per test.
    """
    folder = Path(tempfile.mkdtemp(prefix="dropnet-schema-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "template.sqlite3"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{path}",
            "PUBLIC_URL": "http://x",
        }
    )
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the last connection closing checkpoints the WAL into the file
    for leftover in (folder / "template.sqlite3-wal", folder / "template.sqlite3-shm"):
        assert not leftover.exists() or leftover.stat().st_size == 0, leftover
    return path


@functools.cache
def _postgres_ddl() -> str:
    """create_all's statements for an empty schema, compiled once per process (checkfirst=False:
    the schema is new, so the per-table "does it exist?" round trips are skipped)."""
    statements: list[str] = []

    def collect(sql, *_args, **_kwargs) -> None:  # noqa: ANN001
        statements.append(str(sql.compile(dialect=mock.dialect)).strip())

    mock = sa.create_mock_engine(sa.make_url(PG_URL or "postgresql+psycopg://"), collect)
    db.metadata.create_all(mock, checkfirst=False)
    return ";\n".join(statements)


def _create_postgres_tables() -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(_postgres_ddl())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app(request: pytest.FixtureRequest, backend: str, tmp_path):
    if backend == "postgres":
        url, options = request.getfixturevalue("pg_schema_url")
    else:
        url, options = f"sqlite:///{tmp_path / 'hub.sqlite3'}", {}
    app = make_app(url, options)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def pg_app(request: pytest.FixtureRequest, tmp_path):
    """An app on PostgreSQL only, for concurrency tests."""
    url, options = request.getfixturevalue("pg_schema_url")
    app = make_app(url, options)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def network(session, client) -> builders.Network:
    """Two retailers and two vendors, every retailer connected to every vendor, with tokens."""
    return builders.make_network(session, client)
