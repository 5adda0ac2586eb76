"""The simulator on worlds small enough to reason about by hand (issue 7's list)."""

from __future__ import annotations

import pytest

from network.simulation.engine import Decision, Engine, Policy
from network.simulation.policies import BASELINES, NAMES
from network.simulation.world import CustomerOrder, build_world
from tests.simulation.worlds import run, tiny, vendor


@pytest.mark.parametrize("policy", NAMES)
def test_no_outside_sales_and_instant_feeds_cancel_nothing_under_any_policy(policy: str) -> None:
    config = tiny()
    metrics = run(config, policy)
    assert metrics.orders > 20
    assert metrics.refused_without_stock > 0  # products did sell out: the world was tested at its edge
    assert metrics.vendor_cancelled_orders == 0
    assert metrics.channel_cancelled_orders == 0


def test_split_stock_never_oversells_but_loses_sales_once_one_channel_runs_dry() -> None:
    # Customers favour the own site (60 %) over the split's 40 %: it runs dry while the
    # marketplaces still hold units of the same products.
    config = tiny(channels=(0.6, 0.2, 0.2))
    split = run(config, "split_daily")
    assert split.vendor_cancelled_orders == 0
    assert split.lost_units_by.get("shown_own_site", 0) > 0
    # The same world with the full quantity on every channel sells those units twice.
    assert run(config, "full_daily").vendor_cancelled_orders > 0


def test_a_daily_sync_oversells_when_the_vendor_sells_elsewhere_between_syncs() -> None:
    config = tiny(outside=1.0)
    daily = run(config, "full_daily")
    assert daily.vendor_cancelled_orders > 0
    # The units were already gone when the channel took the order: the listing was older.
    assert daily.vendor_cancelled_before_order > 0
    quarter = run(config, "full_15min")
    assert quarter.vendor_cancelled_orders < daily.vendor_cancelled_orders


def test_the_same_seed_gives_the_same_numbers_and_another_seed_other_ones() -> None:
    half_hourly = vendor(feed_minutes=30, feed_offset_minutes=30, po_batch_minutes=30)
    config = tiny(vendors=(half_hourly,), outside=1.0, returns=0.2, channels=(0.4, 0.35, 0.25), retailers=2)
    first = {name: run(config, name, seed=5).row(config.money) for name in NAMES}
    again = {name: run(config, name, seed=5).row(config.money) for name in NAMES}
    assert first == again
    other = run(config, "full_daily", seed=6).row(config.money)
    assert other != first["full_daily"]


def test_every_policy_meets_the_same_customers() -> None:
    config = tiny(outside=1.0, channels=(0.4, 0.35, 0.25), retailers=2)
    world = build_world(config, 3)
    seen = {name: run(config, name, world=world) for name in BASELINES}
    assert len({(m.customer_orders, m.demand_units) for m in seen.values()}) == 1
    assert seen["full_daily"].customer_orders == len(world.orders)


class _RefuseShowing(Policy):
    """Takes no order; tells the engine the channel showed `offset` units more than existed."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def on_order(self, t: float, order: CustomerOrder) -> Decision:
        return Decision(shown=max(0, self.engine.true_free(order.product) + self.offset))


def test_a_sale_is_lost_only_when_the_channel_showed_less_than_existed() -> None:
    config = tiny(orders_per_day=300)
    world = build_world(config, 2)
    exact = Engine(world, _RefuseShowing(0)).run()
    assert exact.lost_units == 0  # asking for more than exists is a right refusal, not a lost sale
    assert exact.refused_without_stock == exact.customer_orders
    short = Engine(world, _RefuseShowing(-1)).run()
    assert 0 < short.lost_units <= short.demand_units
