"""Read-your-writes marks for the read replica (network/replica.py), shared by every web process.

One row per organization: the primary's WAL position (as a number, network.replica.parse_lsn)
right after that organization's last request that may have written. A process about to send an
organization's read to the replica looks the row up on the primary first and keeps the read on
the primary until the replica has replayed past it, whichever process served the write.

UNLOGGED on PostgreSQL: no WAL for a row written after every write request (nor for the replica
to replay), at the price of the table being emptied when the primary crashes. Losing the marks
then loses nothing the lag bound does not already promise: reads go to the replica only while it
is within HUB_REPLICA_MAX_LAG_MS. The replica has the table but cannot read it (a standby refuses
unlogged tables); it is only ever read and written on the primary. A plain table on SQLite, which
has no replica and never uses it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import CreateTable

from network.db import Base


class ReadMark(Base):
    __tablename__ = "replica_read_marks"
    __table_args__ = {"info": {"unlogged": True}}

    # No foreign key: a mark is a hint about a moment, one row an organization at most; checking
    # the organization on every write request would buy nothing.
    org_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    lsn: Mapped[int] = mapped_column(sa.BigInteger)


@compiles(CreateTable, "postgresql")
def _unlogged(create: CreateTable, compiler, **kw) -> str:  # noqa: ANN001
    text = compiler.visit_create_table(create, **kw)
    if create.element.info.get("unlogged"):
        text = text.replace("CREATE TABLE", "CREATE UNLOGGED TABLE", 1)
    return text
