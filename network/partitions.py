"""History tables partitioned by time on PostgreSQL (issue 20); plain tables on SQLite.

A model declares `by_time("<its creation-time column>")` in its table arguments. On PostgreSQL the
table is then `PARTITION BY RANGE (<column>)`, one partition per calendar month named
`<table>_pYYYYMM` plus a `<table>_default` that takes any row no month partition covers (so an
insert never fails because the maintenance job has not run: network/history/partitions.py creates
months ahead and moves strays out of the default). Retention then drops whole months.

PostgreSQL wants every unique index of a partitioned table to contain the partition key, the
primary key included: it becomes (id, <column>) in the database, while the models (and the ORM's
identity, `session.get(Model, id)`) keep `id` alone. The id still comes from the table's one
sequence, so ids stay unique across partitions and cursors by id work as before.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

DEFAULT_SUFFIX = "default"
_PARTITION = re.compile(r"^(?P<table>.+)_(?:p(?P<year>\d{4})(?P<month>\d{2})|default)$")


def by_time(column: str) -> dict:
    """Table arguments: RANGE-partitioned by `column` on PostgreSQL, a plain table elsewhere."""
    return {"postgresql_partition_by": f"RANGE ({column})", "info": {"partition_key": column}}


def partition_key(table: sa.Table) -> str | None:
    return table.info.get("partition_key")


def partitioned_tables(metadata: sa.MetaData) -> list[sa.Table]:
    return [table for table in metadata.sorted_tables if partition_key(table)]


def month_start(moment: dt.datetime | dt.date) -> dt.datetime:
    return dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)


def add_months(month: dt.datetime, count: int) -> dt.datetime:
    index = month.year * 12 + month.month - 1 + count
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def partition_name(table: str, month: dt.datetime) -> str:
    return f"{table}_p{month.year:04d}{month.month:02d}"


def default_partition_name(table: str) -> str:
    return f"{table}_{DEFAULT_SUFFIX}"


def month_of(table: str, name: str) -> dt.datetime | None:
    """The month a partition of `table` holds (None for the default partition or another name)."""
    found = _PARTITION.match(name)
    if not found or found["table"] != table or found["year"] is None:
        return None
    return dt.datetime(int(found["year"]), int(found["month"]), 1, tzinfo=dt.UTC)


def is_partition(name: str, metadata: sa.MetaData) -> bool:
    """Is `name` a partition of one of the models' partitioned tables (Alembic compares parents only)?"""
    found = _PARTITION.match(name)
    return bool(found) and found["table"] in {table.name for table in partitioned_tables(metadata)}


def month_partition_ddl(table: str, month: dt.datetime) -> str:
    """CREATE the month partition of `table` holding `month` (PostgreSQL)."""
    upper = add_months(month, 1)
    return (
        f"CREATE TABLE {partition_name(table, month)} PARTITION OF {table} "
        f"FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
    )


@compiles(sa.PrimaryKeyConstraint, "postgresql")
def _primary_key_with_partition_key(constraint: sa.PrimaryKeyConstraint, compiler, **kw) -> str:  # noqa: ANN001
    text = compiler.visit_primary_key_constraint(constraint, **kw)
    key = partition_key(constraint.table) if constraint.table is not None else None
    if not key or not text or key in constraint.columns:
        return text
    close = text.rindex(")")
    return f"{text[:close]}, {compiler.preparer.quote(key)}{text[close:]}"


@sa.event.listens_for(sa.Table, "after_create")
def _create_default_partition(table: sa.Table, connection, **kw) -> None:  # noqa: ANN001
    """create_all (tests, `make run`): a partitioned table starts with its default partition only."""
    if connection.dialect.name == "postgresql" and partition_key(table):
        connection.execute(
            sa.DDL(f"CREATE TABLE {default_partition_name(table.name)} PARTITION OF {table.name} DEFAULT")
        )
