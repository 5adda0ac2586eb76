"""The oversell simulator's cost: Dropnet's CPU per customer order on a slice of the default world.

    python bench/simulation.py [--days 3] [--vendors 0,1] [--seed 7] [--against DIR]
                               [--policy dropnet_predictive] [--config FILE]

Runs the Dropnet policy (the hub's real services on SQLite in memory) on the first `--days` of
the default world's seed, restricted to one independent vendor group, in a child process, and
reports its CPU seconds (network seeding included) and CPU per customer order. Gauge, same run:
the full_15min baseline on the whole world, a pure-Python model whose code the hub's changes do
not touch, so `Dropnet CPU / gauge CPU` compares across machines that differ in speed (the full
run's time in docs/benchmarks.md is on whatever machine ran it).

With `--against DIR` (a checkout of another commit, e.g. `git worktree add /tmp/old REV`), the
same slice also runs from that checkout, side by side with this one on the two cores, so both
see the same machine; it prints both, their ratio, and whether the two runs' figures are
identical (a change meant to be faster only must leave them so; the figures compared are those
both checkouts record, with the lost units by cause compared by their total, since a newer checkout
may name a cause an older one did not).

`--policy` benchmarks another hub policy (dropnet_predictive: the retailers on the predictive
model); `--config` another world (e.g. docs/simulation/predictive/quarter_10days.toml), its days
still cut to `--days`; `--profile FILE` runs this checkout's slice under cProfile (read the file
with `python -m pstats FILE`; its times are CPU seconds, and its CPU includes the profiler's
overhead).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import dataclasses, json, os, sys, time
sys.path.insert(0, os.getcwd())
from network.simulation.config import load_config
from network.simulation.runner import run_one
from network.simulation.world import build_world
policy, days, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
world = build_world(load_config(sys.argv[5] or None, days=days), seed)
if sys.argv[4]:
    world = world.restrict(int(v) for v in sys.argv[4].split(","))
started = time.process_time()
if sys.argv[6]:
    import cProfile
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall: a shared machine's load moves wall times
    metrics = profiler.runcall(run_one, world, policy)
    profiler.dump_stats(sys.argv[6])
else:
    metrics = run_one(world, policy)
print(json.dumps({"cpu": time.process_time() - started, "orders": metrics.orders,
                  "metrics": dataclasses.asdict(metrics)}, sort_keys=True, default=str))
"""


def _start(
    checkout: Path, policy: str, days: int, seed: int, vendors: str, config: str = "", profile: str = ""
) -> subprocess.Popen:
    command = [sys.executable, "-c", CHILD, policy, str(days), str(seed), vendors, config, profile]
    return subprocess.Popen(command, cwd=checkout, stdout=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"a simulation child failed (exit {process.returncode})")
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--vendors", default="0,1", help="an independent vendor group of the world")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another checkout to run the same slice from")
    parser.add_argument("--policy", default="dropnet", choices=("dropnet", "dropnet_predictive"))
    parser.add_argument("--config", type=Path, help="a world's TOML file (default: the default world)")
    parser.add_argument("--profile", type=Path, help="write this checkout's run's cProfile stats here")
    args = parser.parse_args()
    config = str(args.config.resolve()) if args.config else ""
    profile = str(args.profile.resolve()) if args.profile else ""

    gauge = _result(_start(ROOT, "full_15min", args.days, args.seed, "", config))
    runs = {"this checkout": _start(ROOT, args.policy, args.days, args.seed, args.vendors, config, profile)}
    if args.against:
        runs[str(args.against)] = _start(
            args.against.resolve(), args.policy, args.days, args.seed, args.vendors, config
        )
    results = {name: _result(process) for name, process in runs.items()}

    world = args.config.name if args.config else "the default world"
    print(f"slice: {world}, seed {args.seed}, {args.days} days, vendors {{{args.vendors}}}, {args.policy}")
    print(f"gauge: full_15min on the whole world, {gauge['orders']:,} orders, {gauge['cpu']:.1f} s CPU")
    print(f"{args.policy + ' from':<28} {'orders':>7} {'CPU s':>8} {'ms/order':>9} {'/ gauge':>8}")
    for name, result in results.items():
        per_order = 1000 * result["cpu"] / result["orders"]
        print(
            f"{name:<28} {result['orders']:>7,} {result['cpu']:>8.1f} {per_order:>9.2f}"
            f" {result['cpu'] / gauge['cpu']:>8.1f}"
        )
    if args.against:
        mine, theirs = results.values()
        print(f"CPU ratio, this checkout / the other: {mine['cpu'] / theirs['cpu']:.2f}")
        print(
            f"figures identical: {'yes' if _comparable(mine, theirs) == _comparable(theirs, mine) else 'NO'}"
        )


def _comparable(result: dict, other: dict | None = None) -> dict:
    """The figures both checkouts record (`other`: the one to match), lost units by cause as a total."""
    metrics = dict(result["metrics"])
    keys = set(metrics) if other is None else set(metrics) & set(other["metrics"])
    metrics["lost_units_by"] = sum(metrics["lost_units_by"].values())
    return {key: metrics[key] for key in sorted(keys)}


if __name__ == "__main__":
    main()
