"""A feed planned and applied a chunk at a time does exactly what the whole feed at once did.

The feed pipeline stages a feed's rows in a temporary table and plans them against the vendor's
positions a chunk at a time (network/stock/staging.py), on PostgreSQL leaving the rows that
change nothing in the database. Tiny chunks here make every feed cross chunk boundaries, with
errors, omitted SKUs, superseded rows, a held jump and the mass-zero guard in different chunks.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.catalog import services as catalog
from network.catalog.services import SourceSpec
from network.db import transaction
from network.feeds import mapping
from network.feeds.services import FeedReceipt, receive_feed
from network.outbox.models import Event
from network.partners import services as partners
from network.stock import services as stock
from network.stock import staging
from network.stock.models import StockLedgerEntry, StockPosition
from network.stock.rows import FeedRow
from network.stock.snapshot import plan_snapshot
from tests.builders import unique

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
MOMENTS = [T0 + dt.timedelta(hours=h) for h in range(3)]
COUNTS = st.integers(min_value=0, max_value=3)
ETAS = st.sampled_from([None, dt.date(2026, 12, 1), dt.date(2026, 12, 24)])
AS_OFS = st.none() | st.sampled_from(MOMENTS)
POSITION = st.tuples(COUNTS, COUNTS, COUNTS, COUNTS, ETAS, st.sampled_from(["available", "on_hand"]), AS_OFS)
# A reported row: quantity, then damaged / pending_inspection / incoming / eta (None: keep), its as-of.
ROW = st.tuples(COUNTS, st.none() | COUNTS, st.none() | COUNTS, st.none() | COUNTS, ETAS, AS_OFS)


def _vendor(session, positions: list[tuple]) -> tuple[int, list[str]]:
    with transaction(session):
        vendor = partners.create_organization(session, kind="vendor", name=unique("V"), now=T0)
        skus = [unique("SKU") for _ in positions]
        for sku, (qty, damaged, pending, incoming, eta, basis, as_of) in zip(skus, positions, strict=True):
            variant, _ = catalog.upsert_variant(
                session, vendor_id=vendor.id, vendor_sku=sku, title="t", cost=Decimal(1), now=T0
            )
            session.execute(
                sa.update(StockPosition)
                .where(StockPosition.variant_id == variant.id)
                .values(
                    quantity=qty,
                    damaged=damaged,
                    pending_inspection=pending,
                    incoming=incoming,
                    incoming_eta=eta,
                    basis=basis,
                    as_of=as_of,
                )
            )
    return vendor.id, skus


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    positions=st.lists(POSITION, min_size=0, max_size=9),
    reported=st.lists(st.one_of(st.none(), ROW), max_size=9),  # None: the sku is left out
    unknown=st.lists(ROW, max_size=3),
    full=st.booleans(),
    basis=st.sampled_from(["available", "on_hand"]),
    snapshot=AS_OFS,
    feed_as_of=st.sampled_from(MOMENTS[1:]),
    chunk=st.integers(min_value=1, max_value=4),
    in_database=st.booleans(),
    small=st.sampled_from([0, 100]),  # staged in the table, or (PostgreSQL) kept in memory as arrays
)
def test_a_plan_made_in_chunks_is_the_plan_made_at_once(
    session, positions, reported, unknown, full, basis, snapshot, feed_as_of, chunk, in_database, small
):
    vendor_id, skus = _vendor(session, positions)
    rows = []
    line = 1
    for sku, row in [*zip(skus, reported, strict=False), *((unique("NEW"), row) for row in unknown)]:
        line += 1
        if row is not None:
            qty, damaged, pending, incoming, eta, as_of = row
            rows.append(FeedRow(line, sku, qty, damaged, pending, incoming, eta, as_of=as_of))
    with transaction(session):
        if snapshot is not None:
            stock.record_full_snapshot(session, vendor_id=vendor_id, as_of=snapshot, feed_run_id=None, now=T0)
        expected = plan_snapshot(
            stock.current_positions(session, vendor_id), rows, full=full, basis=basis, as_of=feed_as_of
        )
        stage = staging.Stage(session, small=small)
        stage.add(rows)
        stage.loaded()
        planner = staging.Planner(
            session,
            vendor_id=vendor_id,
            full=full,
            basis=basis,
            as_of=feed_as_of,
            snapshot_as_of=snapshot,
            staged=len(rows),
            in_database=in_database,
            chunk=chunk,
            source=stage.source(),
        )
        totals = planner.totals()
        chunks = list(planner.chunks())  # after a first pass of one chunk, that chunk again
        unknown_errors = planner.unknown()
        matched = planner.matched(unknown_errors)
        stage.drop()

    changes = sorted(change for c in chunks for change in c.plan.changes)
    assert changes == sorted(expected.changes)
    superseded = [error for c in chunks for error in c.plan.errors]
    assert sorted(superseded + unknown_errors, key=lambda e: e.line) == sorted(
        expected.errors, key=lambda e: e.line
    )
    by_variant = operator.attrgetter("variant_id")
    assert sorted((m for c in chunks for m in c.plan.moves), key=by_variant) == sorted(
        expected.moves, key=by_variant
    )
    assert sum(c.plan.zeroed for c in chunks) == expected.zeroed
    assert matched - len(superseded) == expected.applied
    # The guards' first pass: the same totals, no changes kept.
    assert (totals.zeroed, totals.positive_before, totals.applied) == (
        expected.zeroed,
        expected.positive_before,
        expected.applied,
    )
    assert sorted(totals.errors, key=lambda e: e.line) == sorted(expected.errors, key=lambda e: e.line)
    assert totals.changes == []
    # Chunks come in variant order, each row at most once: positions are locked in that order.
    lasts = [c.last for c in chunks]
    assert lasts == sorted(set(lasts))


def _world(session, n: int) -> tuple[int, int, list[str], list[int]]:
    """A vendor with n SKUs, each sourcing one item of a connected retailer."""
    with transaction(session):
        vendor = partners.create_organization(session, kind="vendor", name=unique("V"), now=T0)
        retailer = partners.create_organization(session, kind="retailer", name=unique("R"), now=T0)
        partners.connect(session, retailer_id=retailer.id, vendor_id=vendor.id, now=T0)
        skus = [f"S{i:02d}" for i in range(n)]
        variants = []
        for sku in skus:
            variant, _ = catalog.upsert_variant(
                session, vendor_id=vendor.id, vendor_sku=sku, title="t", cost=Decimal(1), now=T0
            )
            variants.append(variant.id)
            catalog.put_item(
                session,
                retailer_id=retailer.id,
                retailer_sku=f"R-{sku}",
                title=None,
                sources=[SourceSpec(variant.id)],
                now=T0,
            )
    return vendor.id, retailer.id, skus, variants


def _csv(lines: list[str]) -> bytes:
    return ("sku,quantity,damaged\n" + "\n".join(lines) + "\n").encode()


# A catalog of 12 SKUs, then: a full feed with row errors (a bad quantity, a duplicate, an unknown
# SKU) spread over the file and one SKU left out; a delta with a quantity jump held apart in the
# middle; a full feed that would zero most of the catalog (held); then more counts.
FEEDS = [
    ("full", 0, _csv([f"S{i:02d},{i + 1},0" for i in range(12)])),
    (
        "full",
        5,
        _csv(
            [
                "S00,4,1",
                "S01,x,0",
                "S02,3,0",
                "S03,3,0",
                "S02,9,0",
                "NOPE,1,0",
                *[f"S{i:02d},{i + 1},0" for i in range(4, 11)],
            ]
        ),
    ),
    ("delta", 10, _csv(["S03,2", "S06,5000", "S09,1"])),
    ("full", 15, _csv(["S00,4,1", "S01,2,0"])),
    ("full", 20, _csv([f"S{i:02d},{i},0" for i in range(12)])),
    ("delta", 25, _csv(["S05,3,1", "S11,0,0"])),
]


def _replay(session, vendor_id: int) -> list[tuple]:
    outcomes = []
    for mode, minutes, data in FEEDS:
        at = T0 + dt.timedelta(minutes=minutes)
        receipt = FeedReceipt(vendor_id=vendor_id, transport="push", mode=mode, basis="available", data=data)
        with transaction(session):
            run = receive_feed(session, receipt, now=at)
            outcomes.append(
                (
                    run.status,
                    run.rows_seen,
                    run.rows_applied,
                    run.rows_rejected,
                    run.rows_changed,
                    run.errors,
                    run.hold_reason,
                    re.sub(r"feed run \d+", "feed run #", run.message or ""),
                )
            )
    return outcomes


def _state(session, vendor_id: int, retailer_id: int, skus: list[str], variants: list[int]) -> dict:
    sku_of = dict(zip(variants, skus, strict=True))
    positions = session.execute(
        sa.select(
            StockPosition.variant_id,
            StockPosition.quantity,
            StockPosition.damaged,
            StockPosition.committed,
            StockPosition.as_of,
        ).where(StockPosition.vendor_id == vendor_id)
    ).all()
    ledger = session.execute(
        sa.select(StockLedgerEntry.variant_id, StockLedgerEntry.changes)
        .where(StockLedgerEntry.variant_id.in_(variants))
        .order_by(StockLedgerEntry.id)
    ).all()
    events = session.execute(
        sa.select(Event.org_id, Event.type, Event.data).where(Event.org_id.in_([vendor_id, retailer_id]))
    ).all()
    return {
        "positions": sorted((sku_of[v], *rest) for v, *rest in positions),
        "ledger": [(sku_of[v], changes) for v, changes in ledger],
        "events": sorted((org_id == vendor_id, kind, _anonymous(data)) for org_id, kind, data in events),
    }


def _anonymous(data: dict) -> str:
    """An event's payload with the ids that differ between two identical worlds taken out."""
    kept = {k: v for k, v in sorted(data.items()) if not k.endswith("_id") and k != "id"}
    return re.sub(r"feed run \d+", "feed run #", repr(kept))


def test_a_feed_over_many_chunks_runs_exactly_like_the_whole_feed_at_once(session, monkeypatch):
    monkeypatch.setattr(staging, "CHUNK", 10_000)
    monkeypatch.setattr(mapping, "SINK_CHUNK", 10_000)
    whole = _world(session, 12)
    whole_outcomes = _replay(session, whole[0])

    monkeypatch.setattr(staging, "CHUNK", 2)
    monkeypatch.setattr(mapping, "SINK_CHUNK", 3)
    chunked = _world(session, 12)
    chunked_outcomes = _replay(session, chunked[0])

    assert chunked_outcomes == whole_outcomes
    with transaction(session):
        assert _state(session, *chunked) == _state(session, *whole)
    statuses = [outcome[0] for outcome in whole_outcomes]
    # The scenario reaches what it means to: errors, a held jump, a held mass-zero, a superseded file.
    assert statuses == [
        "applied",
        "partially_applied",
        "applied",
        "held",
        "applied",
        "applied",
    ], whole_outcomes
