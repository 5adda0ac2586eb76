"""The month partitions of a history table (PostgreSQL): which exist, and making the missing ones.

A month partition is made standalone and then attached (`ATTACH PARTITION` takes only a SHARE
UPDATE EXCLUSIVE lock on the parent, so orders and feeds writing the table go on meanwhile; a
`CREATE TABLE … PARTITION OF` would hold the parent exclusively). Months are made ahead, so the new
one is normally empty.

Rows that landed in the default partition because their month had none yet (a fresh create_all,
the job down for weeks, a clock far off) move into it in the same transaction, the attach refusing
while the default holds rows of that month. That move holds the parent exclusively (waiting at
most the caller's lock_timeout): a transaction that read the table before an attach keeps the
partition list it saw, so under a weaker lock its next statement would miss the moved rows in both
places (a webhook dispatcher found its event gone).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.partitions import add_months, default_partition_name, month_of, partition_name


@dataclass(frozen=True)
class Made:
    name: str
    moved: int  # rows moved out of the default partition


def existing(session: Session, table: str) -> dict[dt.datetime, str]:
    """{month: partition name} of the table's month partitions."""
    names = session.scalars(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = CAST(:table AS regclass)"
        ),
        {"table": table},
    )
    found = {}
    for name in names:
        month = month_of(table, name)
        if month is not None:
            found[month] = name
    return found


def ensure(
    session: Session,
    table: str,
    key: str,
    first: dt.datetime,
    last: dt.datetime,
    *,
    now: dt.datetime | None = None,
) -> list[Made]:
    """Make the month partitions from `first` to `last` (months, inclusive) that do not exist yet.

    `now`: months that have begun by then may be written to while they are made (see _make).
    """
    have = existing(session, table)
    made = []
    month = first
    while month <= last:
        if month not in have:
            begun = now is not None and month <= now
            made.append(_make(session, table, key, month, begun=begun))
        month = add_months(month, 1)
    return made


def _make(session: Session, table: str, key: str, month: dt.datetime, *, begun: bool = False) -> Made:
    name, upper = partition_name(table, month), add_months(month, 1)
    bounds = {"lower": month, "upper": upper}
    default = default_partition_name(table)
    strays = f"FROM {default} WHERE {key} >= :lower AND {key} < :upper"
    session.execute(sa.text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    moved = 0
    # A month that has begun is being written to: an INSERT that routed its row to the default
    # partition before the attach commits then fails the default's new constraint (a feed's
    # ledger rows, an order's events). Holding the parent first lets writers under way finish.
    if begun or session.scalar(sa.text(f"SELECT EXISTS (SELECT 1 {strays})"), bounds):
        session.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        moved = session.execute(
            sa.text(f"WITH strays AS (DELETE {strays} RETURNING *) INSERT INTO {name} SELECT * FROM strays"),
            bounds,
        ).rowcount
    session.execute(
        sa.text(
            f"ALTER TABLE {table} ATTACH PARTITION {name}"
            f" FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
        )
    )
    return Made(name, moved)
