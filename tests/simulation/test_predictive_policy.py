"""The simulator's Dropnet on the predictive availability model (issue 18): the hub's real code with
its retailers set to `predictive`, chosen by name and never part of `all`."""

from __future__ import annotations

from network.simulation import policy_names
from network.simulation.policies import NAMES
from tests.simulation.worlds import run, tiny, vendor


def test_the_predictive_hub_is_chosen_by_name_and_all_keeps_the_five_policies() -> None:
    assert "dropnet_predictive" not in policy_names("all") and policy_names("all") == NAMES
    assert policy_names("dropnet,dropnet_predictive") == ("dropnet", "dropnet_predictive")


def test_on_a_slow_feed_the_predictive_hub_cancels_fewer_orders_than_the_fixed_one() -> None:
    # The vendor sells twice the hub's demand elsewhere, counts every 4 hours and imports purchase
    # orders every 2 hours: the fixed figure promises units its other channels sell meanwhile.
    config = tiny(
        outside=2.0,
        vendors=(vendor(feed_minutes=240, feed_offset_minutes=5, po_batch_minutes=120),),
        days=2,
        stock=1.0,
    )
    fixed = run(config, "dropnet")
    predictive = run(config, "dropnet_predictive")
    assert predictive.policy == "dropnet_predictive"
    assert predictive.customer_orders == fixed.customer_orders  # the same customers
    assert predictive.vendor_cancelled_orders < fixed.vendor_cancelled_orders
    # What it costs: sales the rule's trim turned away, a cause of their own (tests/simulation/test_report.py).
    assert predictive.lost_units_by.get("predictive_trim", 0) > 0


def test_marketplace_a_buffer_is_automatic_on_the_predictive_hub_and_the_aging_job_runs() -> None:
    # Every customer on the throttled marketplace; the vendor sells nothing elsewhere, so the
    # automatic buffer holds nothing back where the fixed one hides the last unit of each listing.
    config = tiny(channels=(0.0, 1.0, 0.0), days=1)
    assert (config.channels.marketplace_a_interval_minutes, config.channels.marketplace_a_buffer) == (10, 1)
    fixed = run(config, "dropnet")
    predictive = run(config, "dropnet_predictive")
    assert predictive.customer_orders == fixed.customer_orders
    hidden = fixed.lost_units_by.get("marketplace_a_buffer_or_lag", 0)
    assert hidden > 0
    assert predictive.lost_units_by.get("marketplace_a_buffer_or_lag", 0) < hidden
    # Every five simulated minutes, as in production (the last falls on the horizon).
    assert predictive.extra["aging_runs"] == 24 * 60 / 5 - 1 and "aging_runs" not in fixed.extra
