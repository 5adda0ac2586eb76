"""The configuration file, and running by parts and on several processes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from network.simulation.config import ConfigError, SimConfig, load_config
from network.simulation.policies import BASELINES, DROPNET
from network.simulation.runner import run as run_all
from network.simulation.store import RunStore
from network.simulation.world import build_world
from tests.simulation.worlds import run, tiny, vendor

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulation"


def test_the_shipped_config_file_holds_exactly_the_defaults() -> None:
    assert load_config(DOCS / "default.toml") == SimConfig()


def test_a_config_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "world.toml"
    path.write_text("days = 2\n[demand]\nspike_day = 0\n")
    config = load_config(path)
    assert (config.days, config.demand.spike_day) == (2, 0)
    assert config.demand.orders_per_day == SimConfig().demand.orders_per_day


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dayz = 2\n", "unknown parameter dayz"),
        ("[demand]\norders_per_dai = 1.0\n", "unknown parameter demand.orders_per_dai"),
        ("days = 'thirty'\n", "days must be a int"),
        ("[demand]\nchannel_shares = [0.5, 0.2, 0.2]\n", "channel_shares must add up to 1"),
        ("[[vendors]]\nname = 'X'\nfeed_minutes = 0\n", "every interval must be at least one minute"),
        ("days = \n", "cannot read"),
    ],
)
def test_a_bad_config_file_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_independent_vendor_groups_add_up_to_the_whole_run() -> None:
    config = tiny(
        vendors=(vendor("A"), vendor("B"), vendor("C")),
        twins=0.4,
        retailers=2,
        channels=(0.4, 0.35, 0.25),
        outside=1.0,
        returns=0.2,
        quick_returns=True,
    )
    world = build_world(config, 4)
    assert world.components() == [(0, 1, 2)]  # an odd count: the last vendor twins with the one before
    two = dataclasses.replace(config, vendors=config.vendors[:2] + (vendor("D"), vendor("E")))
    world = build_world(two, 4)
    assert world.components() == [(0, 1), (2, 3)]
    for name in BASELINES:
        whole = run(two, name, world=world)
        parts = [run(two, name, world=world.restrict(group)) for group in world.components()]
        assert parts[0].merge(parts[1]).row(two.money) == whole.row(two.money)


def test_the_runner_splits_dropnet_over_processes_and_merges_the_parts() -> None:
    hourly = {"feed_minutes": 60, "feed_offset_minutes": 60, "po_batch_minutes": 30}
    config = tiny(vendors=(vendor("A", **hourly), vendor("B", **hourly)), channels=(0.4, 0.35, 0.25))
    result = run_all(config, seeds=[3], policies=[DROPNET, "full_daily"], workers=2)
    single = run(config, DROPNET, seed=3)
    assert result.runs["full_daily"][0].row(config.money) == run(config, "full_daily", seed=3).row(
        config.money
    )
    merged = result.runs[DROPNET][0]
    assert merged.customer_orders == single.customer_orders
    assert {"dropnet seed 3 vendors [0]", "dropnet seed 3 vendors [1]"} <= set(result.job_seconds)


def test_a_stopped_multi_seed_run_carries_on_from_what_it_stored(tmp_path: Path) -> None:
    config = tiny(vendors=(vendor("A"), vendor("B")), channels=(0.4, 0.35, 0.25))
    store = RunStore(tmp_path, config)
    policies = ["full_daily", "full_hourly"]
    first = run_all(config, seeds=[1, 2], policies=policies, store=store)
    (store.dir / "full_hourly-seed2.json").unlink()  # as if stopped before the last run finished

    ran: list[str] = []
    again = run_all(config, seeds=[1, 2], policies=policies, store=store, progress=ran.append)

    assert [line.split(":")[0] for line in ran] == ["full_hourly seed 2"]
    for name in policies:
        assert [m.row(config.money) for m in again.runs[name]] == [
            m.row(config.money) for m in first.runs[name]
        ]


def test_stored_runs_of_another_configuration_are_not_reused(tmp_path: Path) -> None:
    config = tiny(vendors=(vendor("A"),))
    run_all(config, seeds=[1], policies=["full_daily"], store=RunStore(tmp_path, config))
    other = dataclasses.replace(config, days=config.days + 1)

    ran: list[str] = []
    run_all(other, seeds=[1], policies=["full_daily"], store=RunStore(tmp_path, other), progress=ran.append)

    assert len(ran) == 1 and ran[0].startswith("full_daily seed 1:")  # it ran, rather than loading


def test_a_seed_run_in_parts_is_stored_whole_for_a_later_run(tmp_path: Path) -> None:
    hourly = {"feed_minutes": 60, "feed_offset_minutes": 60, "po_batch_minutes": 30}
    config = tiny(vendors=(vendor("A", **hourly), vendor("B", **hourly)), channels=(0.4, 0.35, 0.25))
    store = RunStore(tmp_path, config)
    split = run_all(config, seeds=[3], policies=[DROPNET], workers=2, store=store)

    ran: list[str] = []
    whole = run_all(config, seeds=[3], policies=[DROPNET], workers=1, store=store, progress=ran.append)

    assert ran == []
    assert whole.runs[DROPNET][0].row(config.money) == split.runs[DROPNET][0].row(config.money)
