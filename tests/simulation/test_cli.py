"""`flask --app wsgi hub simulate`: the table, the files, and refusals of bad input."""

from __future__ import annotations

import csv
from pathlib import Path


def test_hub_simulate_prints_the_table_and_writes_csv_and_charts(app, tmp_path: Path) -> None:  # noqa: ANN001
    config = tmp_path / "small.toml"
    config.write_text(
        "days = 1\n[catalog]\nskus_per_vendor = 20\nretailers = 2\n[demand]\norders_per_day = 150.0\nspike_day = 1\n"
        '[[vendors]]\nname = "Only"\nfeed_minutes = 60\n'
    )
    out = tmp_path / "out"
    args = ["hub", "simulate", "--seed", "3", "--config", str(config), "--out", str(out), "--workers", "1"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Goal (vendor-caused < 0.5 per 1,000" in result.output
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["policy"] for row in rows] == [
        "split_daily",
        "full_daily",
        "full_hourly",
        "full_15min",
        "dropnet",
    ]
    assert len({row["customer_orders"] for row in rows}) == 1
    for chart in ("cancellations.png", "lost_sales.png", "flag_lead_time.png"):
        assert (out / chart).read_bytes().startswith(b"\x89PNG")


def test_hub_simulate_refuses_a_bad_config_or_policy_without_running(app, tmp_path: Path) -> None:  # noqa: ANN001
    config = tmp_path / "bad.toml"
    config.write_text("[demand]\nspike_dai = 3\n")
    result = app.test_cli_runner().invoke(args=["hub", "simulate", "--config", str(config)])
    assert result.exit_code == 2
    assert "unknown parameter demand.spike_dai" in result.output
    result = app.test_cli_runner().invoke(args=["hub", "simulate", "--policy", "magic"])
    assert result.exit_code == 2
    assert "split_daily" in result.output
    result = app.test_cli_runner().invoke(args=["hub", "simulate", "--policy", "full_daily,magic"])
    assert result.exit_code == 2
    assert "'magic'" in result.output


def test_hub_simulate_runs_the_policies_listed(app, tmp_path: Path) -> None:  # noqa: ANN001
    config = tmp_path / "small.toml"
    config.write_text("days = 1\n[catalog]\nskus_per_vendor = 20\n[demand]\norders_per_day = 100.0\n")
    out = tmp_path / "out"
    args = [
        "hub",
        "simulate",
        "--config",
        str(config),
        "--policy",
        "full_15min,split_daily",
        "--out",
        str(out),
    ]
    result = app.test_cli_runner().invoke(args=[*args, "--workers", "1"])
    assert result.exit_code == 0, result.output
    with (out / "results.csv").open() as f:
        assert [row["policy"] for row in csv.DictReader(f)] == ["full_15min", "split_daily"]
