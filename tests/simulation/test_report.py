"""What the report tells a merchant (issue 18): the spike day apart, where each dollar goes, the
predictive rule's lost sales as a cause of their own, the stored runs, and the assumption ranges."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from network.simulation import sweep
from network.simulation.config import ConfigError, Demand, load_config
from network.simulation.metrics import Metrics
from network.simulation.policies import NAMES
from network.simulation.report import spike_day, summarize, table
from network.simulation.runner import run as run_all
from network.simulation.store import RunStore
from tests.simulation.worlds import run, tiny, vendor

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulation"


def spiked(**overrides: object):  # noqa: ANN201
    """Three days of a small world with a spike on day 2: its few products sell 30 times as much."""
    config = tiny(outside=1.0, days=3, stock=1.0, orders_per_day=300.0, **overrides)
    return dataclasses.replace(
        config, demand=dataclasses.replace(config.demand, spike_day=2, spike_products=3, spike_factor=30.0)
    )


def test_the_spike_day_is_reported_apart_from_the_other_days() -> None:
    config = spiked()
    m = run(config, "full_daily", seed=2)
    # Every order and every cancellation belongs to the day the customer ordered.
    assert sum(m.daily_orders.values()) == m.orders
    assert sum(m.daily_cancelled.values()) == m.cancelled_orders
    assert sum(m.daily_lost_units.values()) == m.lost_units
    # The spike day asks for far more units than an ordinary day, and a daily sync, blind for the
    # day, oversells the spiked products: that day's rate is well above the others'.
    assert m.daily_demand_units["2"] > 2 * m.daily_demand_units["1"]
    spike = m.day_cancellations_per_1000(2)
    ordinary = m.ordinary_day_cancellations_per_1000(2)
    assert spike == pytest.approx(1000 * m.daily_cancelled.get("2", 0) / m.daily_orders["2"])
    others = m.orders - m.daily_orders["2"]
    assert ordinary == pytest.approx(1000 * (m.cancelled_orders - m.daily_cancelled.get("2", 0)) / others)
    assert spike > 2 * ordinary
    row = m.row(config.money, spike_day(config))
    assert row["spike_day_orders"] == m.daily_orders["2"]
    assert row["spike_day_cancellations_per_1000"] == round(spike, 3)


def test_the_cost_split_adds_up_to_the_monthly_cost_for_every_policy() -> None:
    config = spiked(channels=(0.4, 0.35, 0.25))
    for name in NAMES:
        m = run(config, name, seed=3)
        split = m.cost_split(config.money)
        total = m.monthly_cost(config.money)["total"]
        assert sum(split.values()) == pytest.approx(total)
        assert split["cancellations"] == pytest.approx(m.monthly_cost(config.money)["cancellations"])
        assert {key.removeprefix("lost:") for key in split if key != "cancellations"} == set(m.lost_units_by)
        assert sum(m.lost_sales_by.values()) == pytest.approx(m.lost_sales)


def test_lost_sales_the_predictive_rule_trimmed_are_a_cause_of_their_own() -> None:
    # A slow feed and slow imports with brisk outside sales: the rule trims aging counts, and the
    # customers it turns away are counted under "predictive_trim", read from the hub's explanation.
    config = tiny(
        outside=2.0,
        vendors=(vendor(feed_minutes=240, feed_offset_minutes=5, po_batch_minutes=120),),
        days=2,
        stock=1.0,
    )
    fixed = run(config, "dropnet")
    predictive = run(config, "dropnet_predictive")
    assert "predictive_trim" not in fixed.lost_units_by  # the fixed model never trims
    trimmed = predictive.lost_units_by.get("predictive_trim", 0)
    assert trimmed > 0
    split = predictive.cost_split(config.money)
    assert split["lost:predictive_trim"] > 0
    assert "predictive_trim" in table(
        run_all(config, seeds=[1], policies=("full_15min", "dropnet_predictive"))
    )


def test_the_stored_twenty_seed_runs_still_load_and_report() -> None:
    config = load_config(DOCS / "default.toml")
    store = RunStore(DOCS, config)
    assert store.dir.name == "463b148166e8"  # adding policies and figures left the world's hash alone
    loaded = store.load_all(NAMES, range(1, 21))
    assert len(loaded) == 100
    result = run_all(config, seeds=range(1, 21), policies=NAMES, store=store)
    summary = summarize(result)
    assert round(summary["dropnet"]["monthly_cost_usd"].mean) == 141_525
    assert round(summary["full_15min"]["monthly_cost_usd"].mean) == 76_638
    # Their cost split is estimated from the lost units by cause, and still adds up.
    dropnet = summary["dropnet"]
    parts = sum(iv.mean for key, iv in dropnet.items() if key.startswith("cost_") and key.endswith("_usd"))
    assert parts == pytest.approx(dropnet["monthly_cost_usd"].mean)
    text = table(result)
    assert "x full_15min" in text and "1.85" in text
    assert "37 % of 1780" in text  # vendor refusals flagged first


def test_a_run_stored_without_the_new_figures_loads_with_them_empty(tmp_path: Path) -> None:
    config = tiny(days=1)
    store = RunStore(tmp_path, config)
    old = Metrics("full_daily", 1, orders=10, order_value=1000.0, lost_units=2, lost_sales=50.0)
    old.lost_units_by = {"shown_own_site": 2}
    store.save("full_daily", 1, old, 1.0)
    # What a run of the earlier version wrote: none of the issue-18 fields.
    path = store.dir / "full_daily-seed1.json"
    text = path.read_text()
    for name in (
        "lost_sales_by",
        "daily_orders",
        "daily_cancelled",
        "daily_demand_units",
        "daily_lost_units",
    ):
        text = text.replace(f', "{name}": {{}}', "")
    assert "daily_orders" not in text
    path.write_text(text)
    loaded, _ = store.load("full_daily", 1)
    assert loaded.day_cancellations_per_1000(1) is None
    assert loaded.cost_split(config.money)["lost:shown_own_site"] == pytest.approx(
        loaded.monthly_cost(config.money)["lost_sales"]
    )


def test_the_sweep_runs_each_value_and_tabulates_where_each_policy_wins(tmp_path: Path) -> None:
    base = tiny(outside=1.0, days=1, stock=1.0)
    policies = ("full_daily", "full_15min")
    ran: list[int] = []

    def run_point(config):  # noqa: ANN001, ANN202
        ran.append(1)
        return run_all(config, seeds=[1], policies=policies, store=RunStore(tmp_path, config))

    vary = sweep.parse_vary(["outside_sales_ratio=0.5,3", "import_cadence=4"])
    results = sweep.run_sweep(base, vary, run_point)
    assert [(p.parameter, p.value) for p, _ in results] == [
        ("base", ""),
        ("vendor_stock.outside_ratio", "0.5"),
        ("vendor_stock.outside_ratio", "3"),
        ("vendors.po_batch_scale", "4"),
    ]
    assert results[2][0].config.vendor_stock.outside_ratio == 3.0
    assert results[3][0].config.vendors[0].po_batch_minutes == 20
    text = sweep.table(results)
    assert "cheapest" in text and "vendors.po_batch_scale" in text
    path = sweep.write_csv(results, tmp_path)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8
    for point in {(r["parameter"], r["value"]) for r in rows}:
        assert sum(r["cheapest"] == "True" for r in rows if (r["parameter"], r["value"]) == point) == 1
    # Run again on the same store: every point's runs load, and the table is the same.
    again = sweep.run_sweep(
        base, vary, lambda c: run_all(c, seeds=[1], policies=policies, store=RunStore(tmp_path, c))
    )
    assert sweep.table(again) == text
    assert all(r.job_seconds and r.seconds < 5 for _, r in again)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("outside_sales_ratio", "NAME=VALUE"),
        ("magic=1,2", "cannot vary 'magic'"),
        ("demand.magic=1", "cannot vary 'demand.magic'"),
        ("catalog_size=1.5", "not an integer"),
        ("feed_cadence=0", "above 0"),
        ("catalog.second_source_share=0.9", "second_source_share"),
    ],
)
def test_a_bad_vary_is_refused_with_the_reason(option: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sweep.points(tiny(), sweep.parse_vary([option]))


def test_hub_simulate_vary_prints_the_sweep_and_writes_it(app, tmp_path: Path) -> None:  # noqa: ANN001
    config = tmp_path / "small.toml"
    config.write_text("days = 1\n[catalog]\nskus_per_vendor = 20\n[demand]\norders_per_day = 100.0\n")
    out = tmp_path / "out"
    args = [
        "hub",
        "simulate",
        "--config",
        str(config),
        "--policy",
        "full_daily,full_15min",
        "--out",
        str(out),
    ]
    result = app.test_cli_runner().invoke(args=[*args, "--workers", "1", "--vary", "spike_size=5,40"])
    assert result.exit_code == 0, result.output
    assert "Assumption ranges: 3 worlds" in result.output
    with (out / "sweep.csv").open() as f:
        assert {row["value"] for row in csv.DictReader(f)} == {"", "5", "40"}
    result = app.test_cli_runner().invoke(args=[*args, "--vary", "popularity_tail=big"])
    assert result.exit_code == 2
    assert "not a number" in result.output


def test_spike_day_outside_the_world_is_no_spike() -> None:
    config = dataclasses.replace(tiny(days=2), demand=Demand(spike_day=5))
    assert spike_day(config) == 0
