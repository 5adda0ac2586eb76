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
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.db import UTCDateTime, is_postgres
from network.stock.models import StockPosition
from network.stock.rows import FeedRow, RowError
from network.stock.rules import effective_as_of
from network.stock.snapshot import PositionView, SnapshotPlan, plan_omitted, plan_row

CHUNK = 5000
# A feed of up to this many rows is planned from arrays on PostgreSQL, not from the table (Stage).
SMALL = 1000

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
    """Where one feed's valid rows are staged: the temporary table, or (a small feed on PostgreSQL)
    arrays sent with each statement.

    The table stays with its connection: creating and dropping it for every feed would change
    the schema, which makes SQLite prepare every cached statement again (the simulator's
    thousands of small feeds paid for that).

    On PostgreSQL a feed of up to `small` rows never touches the table: creating it if missing,
    TRUNCATE (a new file and catalog rows, twice), COPY and ANALYZE (catalog rows again) are a
    dozen milliseconds and several round trips that a one-row push paid for a plan made from one
    row (docs/benchmarks.md, "Propagation"). Its rows stay in memory (at most `small` of them,
    so memory stays bounded) and the planner's statements read them as `unnest(arrays)`, the same
    queries over another source, so the plan is the same.
    """

    def __init__(self, session: Session, *, small: int | None = None) -> None:
        self.session = session
        self.postgres = is_postgres(session)
        # SQLite's temporary table is a local file write away: it always stages there.
        self.small = (SMALL if small is None else small) if self.postgres else -1
        self.pending: list[FeedRow] = []
        self.in_table = False

    def add(self, rows: Sequence[FeedRow]) -> None:
        """Stage a chunk of valid rows (a RowSink)."""
        if not rows:
            return
        if self.in_table:
            self._write(rows)
            return
        self.pending.extend(rows)
        if len(self.pending) > self.small:
            self._open()

    def loaded(self) -> None:
        """Every row is in: give the planner the staged table's statistics (autovacuum never
        analyzes a temporary table). Rows kept in memory need none: their count is known."""
        if not self.in_table and len(self.pending) > self.small:  # SQLite: even an empty feed
            self._open()
        if self.in_table and self.postgres:
            self.session.execute(sa.text("ANALYZE feed_stage"))

    def source(self) -> sa.FromClause:
        """The staged rows as a table the planner joins: STAGE's columns, whichever the place."""
        if self.in_table or not self.postgres:
            return STAGE
        rows = self.pending
        arrays = [_array([getattr(row, name) for row in rows], STAGE.c[name].type) for name in _COLUMNS]
        columns = [sa.column(column.name, column.type) for column in STAGE.columns]
        return sa.func.unnest(*arrays).table_valued(*columns).render_derived(name="feed_rows")

    def drop(self) -> None:
        """Empty the table (its rows are only this feed's), if this feed used it."""
        self.pending = []
        if self.in_table:
            self._empty()
            self.in_table = False

    def _open(self) -> None:
        """Move to the table, with the rows kept so far."""
        self.session.execute(sa.schema.CreateTable(STAGE, if_not_exists=True))
        self._empty()  # rows a failed run left behind were rolled back with it; this is cheap insurance
        self.in_table = True
        pending, self.pending = self.pending, []
        if pending:
            self._write(pending)

    def _empty(self) -> None:
        self.session.execute(sa.text("TRUNCATE feed_stage" if self.postgres else "DELETE FROM feed_stage"))

    def _write(self, rows: Sequence[FeedRow]) -> None:
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


def _array(values: Sequence[object], item_type: sa.types.TypeEngine) -> sa.BindParameter:
    return sa.bindparam(None, list(values), type_=postgresql.ARRAY(item_type))


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
        staged: int,
        in_database: bool | None = None,
        chunk: int | None = None,
        source: sa.FromClause = STAGE,
    ) -> None:
        self.session = session
        self.stage = source  # the staged rows: Stage.source()
        self.staged = staged  # how many rows the stage holds
        self.vendor_id = vendor_id
        self.full = full
        self.basis = basis
        self.as_of = as_of
        self.snap = snapshot_as_of
        self.chunk = chunk or CHUNK
        postgres = is_postgres(session)
        self.in_database = postgres if in_database is None else in_database and postgres
        self._query = self._chunk_query()
        self._only: Chunk | None = None  # the whole plan, when the first pass found one chunk

    def chunks(self) -> Iterator[Chunk]:
        """Yield each chunk's plan in variant order; errors are those of the chunk's known skus."""
        if self._only is not None:
            only, self._only = self._only, None
            yield only
            return
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
            if len(records) < self.chunk:
                return
            after = chunk.last

    def totals(self) -> SnapshotPlan:
        """A first pass that keeps counts, not changes: what the guards need before anything is written."""
        if self.in_database:
            return self._totals_in_database()
        totals = SnapshotPlan(positive_before=self.positive_before())
        superseded = 0
        seen: list[Chunk] = []
        for chunk in self.chunks():
            totals.zeroed += chunk.plan.zeroed
            superseded += len(chunk.plan.errors)
            totals.errors += chunk.plan.errors
            seen = seen[:1] + [chunk]  # the first, and whether there was another
        unknown = self.unknown()
        totals.errors += unknown
        totals.applied = self.matched(unknown) - superseded
        if len(seen) == 1:
            # One chunk holds the whole plan (every small feed): the second pass takes it as it is.
            self._only = seen[0]
        return totals

    def unknown(self) -> list[RowError]:
        """Rows whose sku has no position of the vendor."""
        # The variant's vendor is the position's (network/stock/positions.py); naming it lets the
        # lookup use the (vendor_id, vendor_sku) index instead of scanning every vendor's variants.
        known = (
            sa.select(_V.c.id)
            .join(_P, _P.c.variant_id == _V.c.id)
            .where(
                _V.c.vendor_id == self.vendor_id,
                _V.c.vendor_sku == self.stage.c.sku,
                _P.c.vendor_id == self.vendor_id,
            )
        )
        rows = self.session.execute(
            sa.select(self.stage.c.line, self.stage.c.sku).where(~known.exists()).order_by(self.stage.c.line)
        )
        return [RowError(line, sku, "unknown sku: create the variant first") for line, sku in rows]

    def matched(self, unknown: Sequence[RowError]) -> int:
        """How many staged rows have a position (all but the `unknown` ones): applied unless
        superseded (or held apart later)."""
        return self.staged - len(unknown)

    def _totals_in_database(self) -> SnapshotPlan:
        """The first pass as two statements: the counts, and the rows older than their position's count."""
        s, p = self.stage.c, _P.c
        confirmed = self._confirmed()
        superseded = sa.and_(confirmed.is_not(None), self._row_as_of() < confirmed)
        # What snapshot._note counts as zeroed: a position in stock that a full feed leaves out
        # (unless its count is newer than the feed: plan_omitted keeps it), or that a row (not
        # superseded) reports at zero.
        kept = sa.and_(confirmed.is_not(None), confirmed > sa.literal(self.as_of, UTCDateTime()))
        zeroed = sa.and_(
            p.quantity > 0,
            sa.or_(
                sa.and_(s.sku.is_(None), sa.not_(kept)),
                sa.and_(s.sku.is_not(None), s.quantity == 0, sa.not_(superseded)),
            ),
        )
        joined = self._joined()
        zeroed_count = self.session.scalar(
            sa.select(sa.func.count().filter(zeroed)).select_from(joined).where(p.vendor_id == self.vendor_id)
        )
        totals = SnapshotPlan(positive_before=self.positive_before(), zeroed=zeroed_count)
        old = self.session.execute(
            sa.select(s.line, s.sku, confirmed)
            .select_from(joined)
            .where(p.vendor_id == self.vendor_id, s.sku.is_not(None), superseded)
            .order_by(s.line)
        )
        totals.errors = [
            RowError(line, sku, f"superseded: a count as of {as_of.isoformat()} is already applied")
            for line, sku, as_of in old
        ]
        unknown = self.unknown()
        totals.applied = self.matched(unknown) - len(totals.errors)
        totals.errors += unknown
        return totals

    def positive_before(self) -> int:
        return self.session.scalar(
            sa.select(sa.func.count()).where(_P.c.vendor_id == self.vendor_id, _P.c.quantity > 0)
        )

    def _joined(self) -> sa.FromClause:
        """Positions with their variant and staged row: every position for a full feed (one it
        leaves out has no row), only the reported ones for a delta."""
        staged = _P.join(_V, _V.c.id == _P.c.variant_id)
        if self.full:
            return staged.outerjoin(self.stage, self.stage.c.sku == _V.c.vendor_sku)
        return staged.join(self.stage, self.stage.c.sku == _V.c.vendor_sku)

    def _confirmed(self) -> sa.ColumnElement:
        """A position's effective as-of (rules.effective_as_of): its own or the last full snapshot's."""
        if self.snap is None:
            return _P.c.as_of
        snap = sa.literal(self.snap, UTCDateTime())
        return sa.func.greatest(sa.func.coalesce(_P.c.as_of, snap), snap)

    def _row_as_of(self) -> sa.ColumnElement:
        return sa.func.coalesce(self.stage.c.as_of, sa.literal(self.as_of, UTCDateTime()))

    def _chunk_query(self) -> sa.Select:
        s = self.stage.c
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
        query = query.select_from(self._joined())
        if self.full:
            # A full feed zeroes what it leaves out: positions without a row come too, unless already zero.
            query = query.where(sa.or_(s.sku.is_not(None), _P.c.quantity != 0))
        if self.in_database:
            # Three-valued logic: a comparison with a NULL column is unknown, not quiet, so it comes too.
            query = query.where(sa.or_(s.sku.is_(None), sa.not_(sa.func.coalesce(self._quiet(), sa.false()))))
        return query.order_by(_P.c.variant_id).limit(self.chunk)

    def _quiet(self) -> sa.ColumnElement[bool]:
        """A reported row that repeats its position and is not older than it: plan_row does nothing
        with it but count it applied (which `matched` does)."""
        s, p = self.stage.c, _P.c
        same = sa.and_(
            s.quantity == p.quantity,
            sa.func.coalesce(s.damaged, p.damaged) == p.damaged,
            sa.func.coalesce(s.pending_inspection, p.pending_inspection) == p.pending_inspection,
            sa.func.coalesce(s.incoming, p.incoming) == p.incoming,
            sa.func.coalesce(s.incoming_eta, p.incoming_eta).is_not_distinct_from(p.incoming_eta),
            p.basis == sa.literal(self.basis, sa.String),
        )
        row_as_of = self._row_as_of()
        confirmed = self._confirmed()
        if self.full:
            return sa.and_(same, sa.or_(confirmed.is_(None), row_as_of >= confirmed))
        # A delta row that repeats the figures still moves the position's as_of, unless it is the same
        # (a position never counted has none: unknown, so its first row is not quiet).
        return sa.and_(same, confirmed == row_as_of)
