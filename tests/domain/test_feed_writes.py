"""A feed's writes, whatever their batching: every position ends as reported, with one ledger entry per change.

On PostgreSQL the changes are written set-based (one UPDATE ... FROM unnest per batch, a value
shared by a whole batch sent once); on SQLite one statement per position. Small batches here make
every feed cross batch boundaries and mix shared and per-row values.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.availability.services import read_availability
from network.catalog import services as catalog
from network.catalog.services import SourceSpec
from network.db import transaction
from network.feeds.services import FeedReceipt, receive_feed
from network.partners import services as partners
from network.stock import services as stock
from network.stock.models import StockLedgerEntry, StockPosition
from tests.builders import unique

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
COUNTS = st.integers(min_value=0, max_value=4)
ETAS = st.sampled_from([None, dt.date(2026, 12, 1), dt.date(2026, 12, 24)])
# One reported row: quantity, then damaged / pending_inspection / incoming / incoming_eta, each
# possibly left out (None), in which case the position keeps what it had.
ROWS = st.tuples(COUNTS, st.none() | COUNTS, st.none() | COUNTS, st.none() | COUNTS, ETAS)
FEEDS = st.lists(st.one_of(st.none(), ROWS), min_size=1, max_size=12)  # None: the sku is omitted

FIELDS = ("quantity", "damaged", "pending_inspection", "incoming", "incoming_eta")


def _render(skus: list[str], rows: list) -> bytes:
    lines = ["sku,quantity,damaged,pending_inspection,incoming,incoming_eta"]
    for sku, row in zip(skus, rows, strict=True):
        if row is not None:
            cells = ["" if value is None else str(value) for value in row]
            lines.append(",".join([sku, *cells]))
    return ("\n".join(lines) + "\n").encode()


def _positions(session, variant_ids: list[int]) -> list[tuple]:
    columns = [getattr(StockPosition, name) for name in FIELDS]
    rows = session.execute(
        sa.select(StockPosition.variant_id, *columns).where(StockPosition.variant_id.in_(variant_ids))
    )
    return sorted(tuple(row) for row in rows)


def _push(session, vendor_id: int, skus: list[str], rows: list, *, mode: str, at: dt.datetime):
    receipt = FeedReceipt(
        vendor_id=vendor_id,
        transport="push",
        mode=mode,
        basis="available",
        data=_render(skus, rows),
        as_of=at,
    )
    with transaction(session):
        return receive_feed(session, receipt, now=at, hold_share=None)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(stock, "WRITE_CHUNK", 3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=FEEDS, second=FEEDS, full=st.booleans())
def test_a_feed_leaves_every_position_as_reported_with_one_ledger_entry_per_change(
    session, small_batches, first, second, full
):
    n = min(len(first), len(second))
    first, second = first[:n], second[:n]
    with transaction(session):
        vendor = partners.create_organization(session, kind="vendor", name=unique("V"), now=T0)
        retailer = partners.create_organization(session, kind="retailer", name=unique("R"), now=T0)
        partners.connect(session, retailer_id=retailer.id, vendor_id=vendor.id, now=T0)
        skus = [unique("SKU") for _ in range(n)]
        variants = [
            catalog.upsert_variant(
                session, vendor_id=vendor.id, vendor_sku=sku, title="t", cost=Decimal(1), now=T0
            )[0].id
            for sku in skus
        ]
        for sku, variant_id in zip(skus, variants, strict=True):
            catalog.put_item(
                session,
                retailer_id=retailer.id,
                retailer_sku=f"R-{sku}",
                title=None,
                sources=[SourceSpec(variant_id)],
                now=T0,
            )
    _push(session, vendor.id, skus, first, mode="full", at=T0)
    before = {row[0]: row[1:] for row in _positions(session, variants)}
    ledger_before = session.scalar(sa.select(sa.func.max(StockLedgerEntry.id))) or 0

    later = T0 + dt.timedelta(minutes=5)
    run = _push(session, vendor.id, skus, second, mode="full" if full else "delta", at=later)

    expected = {}
    for variant_id, row in zip(variants, second, strict=True):
        old = before[variant_id]
        if row is None:
            expected[variant_id] = (0, *old[1:]) if full else old
        else:
            quantity, *rest = row
            kept = (o if new is None else new for o, new in zip(old[1:], rest, strict=True))
            expected[variant_id] = (quantity, *kept)
    assert {row[0]: row[1:] for row in _positions(session, variants)} == expected

    entries = session.execute(
        sa.select(StockLedgerEntry.variant_id, StockLedgerEntry.changes, StockLedgerEntry.feed_run_id).where(
            StockLedgerEntry.id > ledger_before, StockLedgerEntry.variant_id.in_(variants)
        )
    ).all()
    changed = {v for v in variants if expected[v] != before[v]}
    assert sorted(v for v, _, _ in entries) == sorted(changed)
    for variant_id, changes, feed_run_id in entries:
        assert feed_run_id == run.id
        assert changes == {
            name: [_json(old), _json(new)]
            for name, old, new in zip(FIELDS, before[variant_id], expected[variant_id], strict=True)
            if old != new
        }
    assert run.rows_changed == len(changed)

    with transaction(session):
        figures = read_availability(
            session, retailer_id=retailer.id, skus=None, after_id=0, limit=1000, now=later
        )
    assert sorted(item.available for item in figures) == sorted(expected[v][0] for v in variants)


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value
