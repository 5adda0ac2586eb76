"""Declarative base, column types and the one way to run a unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session, registry, scoped_session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(dt.UTC)
        # SQLite keeps text: store naive UTC so that text comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


_sqlite_write = ContextVar("sqlite_write", default=False)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit what the block did, or roll all of it back if it raises."""
    if session.get_bind().dialect.name == "sqlite":
        _begin_sqlite_writer(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


# SQLSTATE class 08 (connection exception) and 57P01-03 (the server shut the session down or is
# not accepting connections yet): the statement never ran or its transaction was rolled back.
_CONNECTION_LOST_STATES = ("08", "57P01", "57P02", "57P03")


def is_connection_lost(error: sa.exc.DBAPIError) -> bool:
    """Tell a lost or refused database connection from an error in the statement itself.

    SQLAlchemy marks a disconnect it recognized (the pool is then invalidated, so the next
    checkout connects afresh); a failed connect has no SQLSTATE at all.
    """
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", "")
    if state is None:  # psycopg: raised by the connection, not by the server for a statement
        return isinstance(error, sa.exc.OperationalError)
    return bool(state) and state.startswith(_CONNECTION_LOST_STATES)


def _begin_sqlite_writer(session: Session) -> None:
    # SQLite cannot upgrade a reader to a writer while another writer runs: it fails at once with
    # "database is locked". A unit of work therefore takes the write lock when it begins (waiting
    # its turn), after ending any read-only transaction the request had opened (token lookup).
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction():
        session.commit()
    token = _sqlite_write.set(True)
    try:
        session.connection()
    finally:
        _sqlite_write.reset(token)


def configure_sqlite(engine: sa.Engine) -> None:
    """Foreign keys on, WAL, a generous busy timeout, and BEGIN IMMEDIATE for units of work."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _sqlite_write.get() else "BEGIN")


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def try_job_lock(session: Session, name: str) -> bool:
    """Take the transaction-scoped lock `name` if no other session holds it (PostgreSQL).

    Keyed by the schema too: hubs sharing one database in different schemas (the tests' schemas,
    side by side) never skip each other's work. SQLite writes one at a time anyway: always True.
    """
    if not is_postgres(session):
        return True
    key = (sa.func.hashtext(name), sa.func.hashtext(sa.func.current_schema()))
    return bool(session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(*key))))
