"""A full feed that leaves a SKU out never moves that SKU's count backwards.

A full feed zeroes the SKUs it omits (DESIGN §6), but a position counted after the feed's as-of
(a delta row at 09:20, a full feed as of 09:15) keeps its newer count and as-of, exactly as a row
that feed carries with an older as-of is superseded: no ledger entry, no availability event.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from network.catalog import services as catalog
from network.catalog.services import SourceSpec
from network.db import transaction
from network.feeds import mapping
from network.feeds.services import FeedReceipt, receive_feed
from network.outbox.models import Event
from network.partners import services as partners
from network.stock import staging
from network.stock.models import StockLedgerEntry, StockPosition
from tests.builders import unique

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _world(session) -> tuple[int, int, dict[str, int]]:
    """A vendor with SKUs A to D, each sourcing one item of a connected retailer."""
    with transaction(session):
        vendor = partners.create_organization(session, kind="vendor", name=unique("V"), now=T0)
        retailer = partners.create_organization(session, kind="retailer", name=unique("R"), now=T0)
        partners.connect(session, retailer_id=retailer.id, vendor_id=vendor.id, now=T0)
        variants = {}
        for sku in "ABCD":
            variant, _ = catalog.upsert_variant(
                session, vendor_id=vendor.id, vendor_sku=sku, title="t", cost=Decimal(1), now=T0
            )
            variants[sku] = variant.id
            catalog.put_item(
                session,
                retailer_id=retailer.id,
                retailer_sku=f"R-{sku}",
                title=None,
                sources=[SourceSpec(variant.id)],
                now=T0,
            )
    return vendor.id, retailer.id, variants


def _feed(session, vendor_id: int, mode: str, csv: str, *, as_of: dt.datetime, now: dt.datetime):
    receipt = FeedReceipt(
        vendor_id=vendor_id,
        transport="push",
        mode=mode,
        basis="available",
        data=("sku,quantity\n" + csv).encode(),
        as_of=as_of,
    )
    with transaction(session):
        run = receive_feed(session, receipt, now=now)
        return run.id, run.status, run.rows_applied, run.rows_rejected


def _position(session, variant_id: int) -> tuple[int, dt.datetime]:
    with transaction(session):
        return session.execute(
            sa.select(StockPosition.quantity, StockPosition.as_of).where(
                StockPosition.variant_id == variant_id
            )
        ).one()


@pytest.mark.parametrize("chunk", [10_000, 1])
def test_a_full_feed_omitting_a_sku_counted_later_keeps_the_newer_count(session, monkeypatch, chunk):
    monkeypatch.setattr(staging, "CHUNK", chunk)
    monkeypatch.setattr(mapping, "SINK_CHUNK", max(chunk, 1))
    vendor_id, retailer_id, variants = _world(session)
    at = lambda hh, mm: T0.replace(hour=hh, minute=mm)  # noqa: E731
    _feed(session, vendor_id, "full", "A,5\nB,5\nC,5\nD,5\n", as_of=at(9, 0), now=at(9, 1))
    _feed(session, vendor_id, "delta", "A,7\nB,8\nC,9\n", as_of=at(9, 20), now=at(9, 21))
    with transaction(session):
        ledger_before = session.scalar(sa.select(sa.func.max(StockLedgerEntry.id)))
        events_before = session.scalar(sa.select(sa.func.max(Event.id)))

    # The vendor's 09:15 export arrives late and leaves A out: its 09:20 count is newer. B's and
    # C's rows in that feed are superseded by their 09:20 counts the same way; only D's applies.
    _, status, applied, rejected = _feed(
        session, vendor_id, "full", "B,1\nC,9\nD,4\n", as_of=at(9, 15), now=at(9, 25)
    )

    assert (status, applied, rejected) == ("partially_applied", 1, 2)
    assert _position(session, variants["A"]) == (7, at(9, 20))
    assert _position(session, variants["B"]) == (8, at(9, 20))
    assert _position(session, variants["D"]) == (4, at(9, 15))
    with transaction(session):
        ledger = session.execute(
            sa.select(StockLedgerEntry.variant_id).where(
                StockLedgerEntry.id > ledger_before, StockLedgerEntry.variant_id.in_(variants.values())
            )
        ).scalars()
        assert sorted(ledger) == [variants["D"]]
        changed = session.execute(
            sa.select(Event.data).where(
                Event.id > (events_before or 0),
                Event.org_id == retailer_id,
                Event.type == "availability.changed",
            )
        ).scalars()
        assert sorted(data["retailer_sku"] for data in changed) == ["R-D"]

    # A later full feed that leaves A out does zero it, as of its own time.
    _feed(session, vendor_id, "full", "B,8\nC,9\nD,4\n", as_of=at(9, 30), now=at(9, 31))
    assert _position(session, variants["A"]) == (0, at(9, 30))


@pytest.mark.parametrize("chunk", [10_000, 1])
def test_a_first_delta_row_that_repeats_a_never_counted_zero_dates_the_position(session, monkeypatch, chunk):
    # A new variant's position is 0 with no as-of; a delta row reporting 0 changes no figure but is
    # the vendor's first count of it: the position is then counted as of the row, not stale for ever.
    monkeypatch.setattr(staging, "CHUNK", chunk)
    monkeypatch.setattr(mapping, "SINK_CHUNK", max(chunk, 1))
    vendor_id, _, variants = _world(session)
    assert _position(session, variants["A"]) == (0, None)
    _, status, applied, rejected = _feed(session, vendor_id, "delta", "A,0\nB,5\n", as_of=T0, now=T0)
    assert (status, applied, rejected) == ("applied", 2, 0)
    assert _position(session, variants["A"]) == (0, T0)
    assert _position(session, variants["B"]) == (5, T0)
