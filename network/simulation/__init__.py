"""The oversell simulator: the usual inventory-sync workarounds and Dropnet on the same simulated weeks.

`simulate()` is what `flask --app wsgi hub simulate` runs; docs/simulation.md describes the
world, every parameter, every policy and the results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from network.simulation.config import ConfigError, SimConfig, load_config
from network.simulation.policies import CHOICES, NAMES
from network.simulation.runner import RunResult, run

__all__ = ["NAMES", "ConfigError", "load_config", "policy_names", "simulate"]


def policy_names(text: str) -> tuple[str, ...]:
    """Read `all` or a comma-separated list of policies. Raises ValueError naming an unknown one."""
    if text == "all":
        return NAMES
    names = tuple(text.split(","))
    unknown = [name for name in names if name not in CHOICES]
    if unknown:
        raise ValueError(f"{unknown[0]!r}: choose all, or some of {', '.join(CHOICES)} separated by commas")
    return names


def simulate(
    *,
    seed: int,
    seeds: int = 1,
    days: int | None = None,
    policy: str = "all",
    out: Path | None = None,
    config_path: Path | None = None,
    workers: int | None = None,
    database_url: str | None = None,
    echo: Callable[[str], None] = print,
    vary: Sequence[str] = (),
) -> RunResult:
    """Run the chosen policies on `seeds` consecutive seeds, print the table, write CSV and charts to `out`.

    With `out`, each finished run is kept under `out/runs/` and a later call with the same
    configuration runs only what is missing (network/simulation/store.py).

    With `vary` (`NAME=V1,V2,...` each), the same policies also run on worlds that differ from
    this one in one parameter at a time (network/simulation/sweep.py); it prints the sweep's table
    and writes sweep.csv to `out`, and returns the base world's result.

    Dropnet's scratch database is SQLite in memory unless `database_url` names PostgreSQL.
    Raises ConfigError for a bad configuration file or --vary, ValueError for an unknown policy.
    """
    from network.simulation import sweep
    from network.simulation.report import table, write_charts, write_csv
    from network.simulation.store import RunStore

    config = load_config(config_path, **({"days": days} if days else {}))
    names = policy_names(policy)
    url = database_url if database_url and not database_url.startswith("sqlite") else None
    varied = sweep.parse_vary(vary)
    sweep.points(config, varied)  # every value checked before anything runs

    def run_config(world: SimConfig) -> RunResult:
        return run(
            world,
            seeds=range(seed, seed + seeds),
            policies=names,
            workers=workers or min(os.cpu_count() or 1, 2),
            database_url=url,
            progress=echo,
            store=RunStore(out, world) if out is not None else None,
        )

    if varied:
        results = sweep.run_sweep(config, varied, run_config)
        echo(sweep.table(results))
        if out is not None:
            echo(f"wrote {sweep.write_csv(results, out)}")
        return results[0][1]
    result = run_config(config)
    echo(table(result))
    if out is not None:
        for path in (*write_csv(result, out), *write_charts(result, out)):
            echo(f"wrote {path}")
    return result
