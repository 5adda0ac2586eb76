"""The Dropnet policy drives the hub's real services on a real database.

The bookkeeping test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (a scratch
schema, as `hub simulate` uses with a PostgreSQL DATABASE_URL); the behaviour tests on SQLite.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network.feeds.models import FeedRun
from network.orders.models import Order, PurchaseOrderLine, Return
from network.simulation.engine import Engine
from network.simulation.policies.dropnet import DropnetPolicy
from network.simulation.world import build_world
from network.stock.models import StockLedgerEntry, StockPosition
from tests.conftest import PG_URL
from tests.simulation.worlds import run, tiny, vendor

# Slower exports than the "instant" 5 minutes: fewer feed runs, the same story.
QUARTER = {"feed_minutes": 15, "feed_offset_minutes": 15, "po_batch_minutes": 15}
HOURLY = {"feed_minutes": 60, "feed_offset_minutes": 60, "po_batch_minutes": 15}


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str) -> str | None:
    """None: SQLite in memory; on the postgres backend, a scratch schema of the test database."""
    if backend == "postgres":
        request.getfixturevalue("pg_admin_engine")
        return PG_URL
    return None


def test_the_hub_records_the_feed_runs_orders_shipments_and_returns_the_run_reports(
    database_url: str | None,
) -> None:
    config = tiny(
        vendors=(
            vendor("A", **HOURLY),
            vendor("B", broken_per_month=100.0, broken_keep=(0.0, 0.2), **HOURLY),
        ),
        twins=0.4,
        retailers=2,
        channels=(0.4, 0.35, 0.25),
        outside=1.0,
        returns=0.3,
        quick_returns=True,
        orders_per_day=300,
    )
    world = build_world(config, 11)
    policy = DropnetPolicy(config, database_url=database_url)
    try:
        metrics = Engine(world, policy).run()
        session = policy.session
        count = lambda model: session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        sent = sum(n for key, n in policy.counts.items() if key.startswith("feed_runs_"))
        assert count(FeedRun) == sent == len(world.exports)  # full exports only: every one was sent
        held = session.scalar(sa.select(sa.func.count()).where(FeedRun.status == "held"))
        assert held == policy.counts["feed_runs_held"] > 0  # B's truncated exports were held, not applied
        assert count(Order) == metrics.orders > 0
        assert session.scalar(sa.select(sa.func.sum(PurchaseOrderLine.shipped))) == metrics.units_shipped
        returned = session.scalar(sa.select(sa.func.sum(Return.quantity)))
        assert returned == metrics.returned_units > 0
        graded_damaged = session.scalar(sa.select(sa.func.sum(Return.damaged)))
        assert graded_damaged == metrics.damaged_units
        assert count(StockLedgerEntry) > count(
            Order
        )  # reservations, feeds and gradings are all on the ledger
        assert session.scalar(sa.select(sa.func.min(StockPosition.committed))) >= 0
        # The world and the hub agree on every unit still owed: the open purchase-order lines.
        unshipped = (
            PurchaseOrderLine.ordered
            - PurchaseOrderLine.cancelled
            - PurchaseOrderLine.rejected
            - PurchaseOrderLine.shipped
        )
        assert session.scalar(sa.select(sa.func.sum(unshipped))) == metrics.unprocessed_units
    finally:
        policy.close()


def test_the_hub_holds_a_broken_export_that_a_periodic_sync_copies() -> None:
    config = tiny(
        vendors=(vendor(broken_per_month=200.0, broken_keep=(0.0, 0.2), **HOURLY),), orders_per_day=300
    )
    hub = run(config, "dropnet")
    synced = run(config, "full_15min")
    assert hub.extra["db_feed_runs_held"] > 0
    # Truncated exports zero the sync's listings until the next good one; the hub kept its count.
    assert synced.lost_units > hub.lost_units


def test_a_silent_feed_goes_stale_on_the_hub_while_a_periodic_sync_keeps_selling_it() -> None:
    silent = vendor(silent_per_month=240.0, silent_hours=(2.0, 4.0), stale_after_minutes=60, **QUARTER)
    config = tiny(vendors=(silent,), outside=2.0, orders_per_day=300)
    hub = run(config, "dropnet")
    synced = run(config, "full_hourly")
    assert hub.extra.get("db_feed_runs_not_modified", 0) > 0  # the unchanged file was recognised
    assert hub.lost_units_by.get("stale_feed", 0) > 0  # the hub stopped selling a count it could not trust
    assert hub.vendor_cancelled_orders < synced.vendor_cancelled_orders


def test_the_world_follows_the_lines_the_hub_moves_to_a_second_source() -> None:
    # Every SKU has a twin at the other vendor; the vendors sell elsewhere and import purchase
    # orders only every 4 hours, so the hub sees shortfalls in their counts before they refuse.
    slow = {"feed_minutes": 30, "feed_offset_minutes": 30, "po_batch_minutes": 240}
    config = tiny(
        vendors=(vendor("A", **slow), vendor("B", **slow)),
        twins=0.5,
        outside=0.5,
        orders_per_day=500,
        stock=0.6,
    )
    policy = DropnetPolicy(config)
    try:
        metrics = Engine(build_world(config, 2), policy).run()
        assert metrics.rerouted_lines > 0
        assert metrics.extra["db_flags_shortfall"] > 0
        # Every unit the hub still owes is a unit some vendor in the world still has to process.
        unshipped = (
            PurchaseOrderLine.ordered
            - PurchaseOrderLine.cancelled
            - PurchaseOrderLine.rejected
            - PurchaseOrderLine.shipped
        )
        assert policy.session.scalar(sa.select(sa.func.sum(unshipped))) == metrics.unprocessed_units
    finally:
        policy.close()
