"""A feed's valid rows in a temporary table, and the plan made from them a chunk at a time.

A distributor's feed runs to a million rows: kept as Python objects, with the vendor's positions
and every change beside them, it took 34–55× the file's size in memory (docs/benchmarks.md, "Feed
ingest"). Here the parser's rows go to a temporary table as they are read (COPY on PostgreSQL),
and the plan is made from the positions joined with that table, CHUNK positions at a time in
variant order — the order writers lock positions in — so memory holds one chunk, not the feed.

On PostgreSQL the join also leaves out, in the database, every reported row that repeats its
position and changes nothing (most of a feed), so those rows never reach Python. The decision for
each row that does come back is network.stock.snapshot's, the same one a plan in memory makes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.db import UTCDateTime, is_postgres
from network.stock.models import StockPosition
from network.stock.rows import FeedRow, RowError
from network.stock.rules import effective_as_of
from network.stock.snapshot import PositionView, SnapshotPlan, plan_omitted, plan_row

CHUNK = 5000

STAGE = sa.Table(
    "feed_stage",
    sa.MetaData(),
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("damaged", sa.Integer),
    sa.Column("pending_inspection", sa.Integer),
    sa.Column("incoming", sa.Integer),
    sa.Column("incoming_eta", sa.Date),
    sa.Column("as_of", UTCDateTime),
    prefixes=["TEMPORARY"],
)
_COLUMNS = [column.name for column in STAGE.columns]
_P = StockPosition.__table__
_V = VendorVariant.__table__


class Stage:
    """The temporary table one feed's rows are staged in, for the length of one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = is_postgres(session)
        # A run that failed half-way in this connection may have left its table behind.
        self.drop()
        STAGE.create(session.connection())

    def add(self, rows: Sequence[FeedRow]) -> None:
        """Stage a chunk of valid rows (a RowSink)."""
        if not rows:
            return
        if self.postgres:
            raw = self.session.connection().connection.driver_connection
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY feed_stage ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(
                        (
                            row.sku,
                            row.line,
                            row.quantity,
                            row.damaged,
                            row.pending_inspection,
                            row.incoming,
                            row.incoming_eta,
                            row.as_of,
                        )
                    )
            return
        self.session.execute(
            STAGE.insert(),
            [
                {
                    "sku": row.sku,
                    "line": row.line,
                    "quantity": row.quantity,
                    "damaged": row.damaged,
                    "pending_inspection": row.pending_inspection,
                    "incoming": row.incoming,
                    "incoming_eta": row.incoming_eta,
                    "as_of": row.as_of,
                }
                for row in rows
            ],
        )

    def loaded(self) -> None:
        """Give the planner the staged table's statistics (autovacuum never analyzes a temporary table)."""
        if self.postgres:
            self.session.execute(sa.text("ANALYZE feed_stage"))

    def drop(self) -> None:
        self.session.execute(sa.text("DROP TABLE IF EXISTS feed_stage"))


@dataclass
class Chunk:
    """The plan for one run of positions (in variant order, up to `last`) and the rows reported for them."""

    plan: SnapshotPlan
    rows: list[FeedRow] = field(default_factory=list)
    last: int = 0


class Planner:
    """Plan a staged feed against a vendor's positions, chunk by chunk; nothing is written here.

    `in_database` (PostgreSQL only; on by default there) lets the database drop the rows that
    change nothing before they are read; off, every reported row is decided in Python, as on SQLite.
    """

    def __init__(
        self,
        session: Session,
        *,
        vendor_id: int,
        full: bool,
        basis: str,
        as_of: dt.datetime,
        snapshot_as_of: dt.datetime | None,
        in_database: bool | None = None,
        chunk: int | None = None,
    ) -> None:
        self.session = session
        self.vendor_id = vendor_id
        self.full = full
        self.basis = basis
        self.as_of = as_of
        self.snap = snapshot_as_of
        self.chunk = chunk or CHUNK
        postgres = is_postgres(session)
        self.in_database = postgres if in_database is None else in_database and postgres
        self._query = self._chunk_query()

    def chunks(self) -> Iterator[Chunk]:
        """Yield each chunk's plan in variant order; errors are those of the chunk's known skus."""
        after = 0
        while True:
            records = self.session.execute(self._query, {"after": after}).all()
            if not records:
                return
            chunk = Chunk(SnapshotPlan(), last=records[-1][0])
            for variant_id, qty, damaged, pending, incoming, eta, basis, own_as_of, sku, *staged in records:
                pos = PositionView(
                    variant_id,
                    qty,
                    damaged,
                    pending,
                    incoming,
                    eta,
                    basis,
                    effective_as_of(own_as_of, self.snap),
                )
                if staged[0] is None:
                    plan_omitted(chunk.plan, pos, self.as_of)
                    continue
                row = FeedRow(
                    staged[0],
                    sku,
                    staged[1],
                    damaged=staged[2],
                    pending_inspection=staged[3],
                    incoming=staged[4],
                    incoming_eta=staged[5],
                    as_of=staged[6],
                )
                chunk.rows.append(row)
                plan_row(chunk.plan, pos, row, full=self.full, basis=self.basis, as_of=self.as_of)
            yield chunk
            after = chunk.last

    def totals(self) -> SnapshotPlan:
        """A first pass that keeps counts, not changes: what the guards need before anything is written."""
        totals = SnapshotPlan(positive_before=self.positive_before())
        superseded = 0
        for chunk in self.chunks():
            totals.zeroed += chunk.plan.zeroed
            superseded += len(chunk.plan.errors)
            totals.errors += chunk.plan.errors
        totals.errors += self.unknown()
        totals.applied = self.matched() - superseded
        return totals

    def unknown(self) -> list[RowError]:
        """Rows whose sku has no position of the vendor."""
        known = (
            sa.select(_V.c.id)
            .join(_P, _P.c.variant_id == _V.c.id)
            .where(_V.c.vendor_sku == STAGE.c.sku, _P.c.vendor_id == self.vendor_id)
        )
        rows = self.session.execute(
            sa.select(STAGE.c.line, STAGE.c.sku).where(~known.exists()).order_by(STAGE.c.line)
        )
        return [RowError(line, sku, "unknown sku: create the variant first") for line, sku in rows]

    def matched(self) -> int:
        """How many staged rows have a position: applied unless superseded (or held apart later)."""
        return self.session.scalar(
            sa.select(sa.func.count())
            .select_from(STAGE)
            .join(_V, _V.c.vendor_sku == STAGE.c.sku)
            .join(_P, _P.c.variant_id == _V.c.id)
            .where(_P.c.vendor_id == self.vendor_id)
        )

    def positive_before(self) -> int:
        return self.session.scalar(
            sa.select(sa.func.count()).where(_P.c.vendor_id == self.vendor_id, _P.c.quantity > 0)
        )

    def _chunk_query(self) -> sa.Select:
        s = STAGE.c
        staged = _P.join(_V, _V.c.id == _P.c.variant_id)
        query = sa.select(
            _P.c.variant_id,
            _P.c.quantity,
            _P.c.damaged,
            _P.c.pending_inspection,
            _P.c.incoming,
            _P.c.incoming_eta,
            _P.c.basis,
            _P.c.as_of,
            _V.c.vendor_sku,
            s.line,
            s.quantity,
            s.damaged,
            s.pending_inspection,
            s.incoming,
            s.incoming_eta,
            s.as_of,
        ).where(_P.c.vendor_id == self.vendor_id, _P.c.variant_id > sa.bindparam("after"))
        if self.full:
            # A full feed zeroes what it leaves out: positions without a row come too, unless already zero.
            query = query.select_from(staged.outerjoin(STAGE, s.sku == _V.c.vendor_sku))
            query = query.where(sa.or_(s.sku.is_not(None), _P.c.quantity != 0))
        else:
            query = query.select_from(staged.join(STAGE, s.sku == _V.c.vendor_sku))
        if self.in_database:
            query = query.where(sa.or_(s.sku.is_(None), sa.not_(self._quiet())))
        return query.order_by(_P.c.variant_id).limit(self.chunk)

    def _quiet(self) -> sa.ColumnElement[bool]:
        """A reported row that repeats its position and is not older than it: plan_row does nothing
        with it but count it applied (which `matched` does)."""
        s, p = STAGE.c, _P.c
        same = sa.and_(
            s.quantity == p.quantity,
            sa.func.coalesce(s.damaged, p.damaged) == p.damaged,
            sa.func.coalesce(s.pending_inspection, p.pending_inspection) == p.pending_inspection,
            sa.func.coalesce(s.incoming, p.incoming) == p.incoming,
            sa.func.coalesce(s.incoming_eta, p.incoming_eta).is_not_distinct_from(p.incoming_eta),
            p.basis == sa.literal(self.basis, sa.String),
        )
        feed_as_of = sa.literal(self.as_of, UTCDateTime())
        row_as_of = sa.func.coalesce(s.as_of, feed_as_of)
        if self.snap is None:
            confirmed = p.as_of
        else:
            snap = sa.literal(self.snap, UTCDateTime())
            confirmed = sa.func.greatest(sa.func.coalesce(p.as_of, snap), snap)
        if self.full:
            return sa.and_(same, sa.or_(confirmed.is_(None), row_as_of >= confirmed))
        # A delta row that repeats the figures still moves the position's as_of, unless it is the same.
        return sa.and_(same, confirmed == row_as_of)
