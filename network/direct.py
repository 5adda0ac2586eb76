"""A hot path's statements sent through psycopg directly (PostgreSQL), each prepared on the server.

An order's statements cost more Python in SQLAlchemy's execute path than in building or reading
their values: the compiled-cache lookup, the parameters' conversion, psycopg re-reading the
placeholders of a statement longer than its 4 kB cache (the order's write is 5 kB), the result's
set-up. A `Direct` statement is a SQLAlchemy statement compiled once to PostgreSQL's `$n`
placeholders; `run` sends it through a psycopg `RawCursor` (no placeholder parsing) with
`prepare=True` (parsed and planned once per connection), inside the session's transaction, and
returns the rows as tuples. Nothing else changes: the statement's text is what SQLAlchemy would
send, its casts included; `before_cursor_execute` listeners see it as they see any other; a
driver error is raised as SQLAlchemy's (a lost connection invalidates it in the pool, as usual).

The caller gives values as the driver takes them (SQLAlchemy's bind processors do not run): an
aware UTC datetime for a timestamp, JSON as its text (the statement casts it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

import psycopg
import psycopg.rows
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.orm import Session

_DIALECT = pg_psycopg.dialect()
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_EXPANDING = re.compile(r"IN \(__\[POSTCOMPILE_(\w+)\]\)")
_ROWS = psycopg.pq.ExecStatus.TUPLES_OK
_TUPLES, _NAMED = psycopg.rows.tuple_row, psycopg.rows.namedtuple_row


class Direct:
    """A statement compiled once: its text with `$n` placeholders and where each value comes from."""

    __slots__ = ("_arrays", "_defaults", "_names", "sql")

    def __init__(self, statement: sa.Executable, *, arrays: tuple[str, ...] = ()) -> None:
        """`arrays`: parameters that are arrays though untyped (a `text()` statement's casts)."""
        compiled = statement.compile(dialect=_DIALECT)
        # `column IN (:list)` (an expanding parameter, rendered per call) becomes `= ANY(:list)`:
        # one text for any length of list, the list sent as an array.
        text = _EXPANDING.sub(r"= ANY(%(\1)s)", compiled.string)
        assert "POSTCOMPILE" not in text, "an expanding parameter outside `IN (…)`"
        names: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(0) == "%%":
                return "%"
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.sql = _PLACEHOLDER.sub(number, text)
        self._names = tuple(names)
        # Array parameters (each cast in the text): sent as PostgreSQL's array literal, which
        # costs a join here instead of psycopg's inspection of every list's elements.
        self._arrays = frozenset(
            name for name, bind in compiled.binds.items() if isinstance(bind.type, sa.ARRAY)
        ).union(arrays)
        # Values bound in the statement itself (literals such as a status): sent as parameters.
        self._defaults = {name: value for name, value in compiled.params.items() if value is not None}

    def values(self, params: Mapping[str, object]) -> tuple:
        defaults, arrays = self._defaults, self._arrays
        return tuple(
            (array_literal(params[name]) if name in arrays else params[name])
            if name in params
            else defaults[name]
            for name in self._names
        )


def array_literal(values: object) -> object:
    """A list of ints, decimals, strings or None as PostgreSQL's array text, `{1,"a\\"b",NULL}`
    (anything else is left to psycopg)."""
    if type(values) is not list:
        return values
    parts = []
    for value in values:
        kind = type(value)
        if kind is int or kind is Decimal:
            parts.append(str(value))
        elif kind is str:
            parts.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif value is None:
            parts.append("NULL")
        else:
            return values
    return "{" + ",".join(parts) + "}"


def run(
    session: Session, statement: Direct, params: Mapping[str, object], *, named: bool = False
) -> list[tuple]:
    """Execute in the session's transaction; return the rows (none for a statement without any),
    as tuples, or `named` tuples (attributes by column label, as SQLAlchemy's rows have)."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    values = statement.values(params)
    conn = session.connection()
    cursor = psycopg.RawCursor(conn.connection.driver_connection, row_factory=_NAMED if named else _TUPLES)
    listeners = conn.dispatch.before_cursor_execute
    if listeners:
        for listener in listeners:
            listener(conn, cursor, statement.sql, values, None, False)
    try:
        cursor.execute(statement.sql, values, prepare=True)
        result = cursor.pgresult
        return cursor.fetchall() if result is not None and result.status == _ROWS else []
    except psycopg.Error as error:
        raise _wrapped(conn, error, statement.sql, values) from error
    finally:
        cursor.close()


def _wrapped(conn: sa.Connection, error: psycopg.Error, sql: str, values: tuple) -> sa.exc.DBAPIError:
    """The error as SQLAlchemy raises it, the connection invalidated when it was lost."""
    lost = conn.dialect.is_disconnect(error, conn.connection.driver_connection, None)
    if lost:
        conn.invalidate(error)
    return sa.exc.DBAPIError.instance(
        sql, values, error, psycopg.Error, connection_invalidated=lost, dialect=conn.dialect
    )
