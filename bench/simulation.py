"""The oversell simulator's cost: Dropnet's CPU per customer order on a slice of the default world.

    python bench/simulation.py [--days 3] [--vendors 0,1] [--seed 7] [--against DIR]

Runs the Dropnet policy (the hub's real services on SQLite in memory) on the first `--days` of
the default world's seed, restricted to one independent vendor group, in a child process, and
reports its CPU seconds (network seeding included) and CPU per customer order. Gauge, same run:
the full_15min baseline on the whole world, a pure-Python model whose code the hub's changes do
not touch, so `Dropnet CPU / gauge CPU` compares across machines that differ in speed (the full
run's time in docs/benchmarks.md is on whatever machine ran it).

With `--against DIR` (a checkout of another commit, e.g. `git worktree add /tmp/old REV`), the
same slice also runs from that checkout, side by side with this one on the two cores, so both
see the same machine; it prints both, their ratio, and whether the two runs' figures are
identical (a change meant to be faster only must leave them so).
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
world = build_world(load_config(None, days=days), seed)
if sys.argv[4]:
    world = world.restrict(int(v) for v in sys.argv[4].split(","))
started = time.process_time()
metrics = run_one(world, policy)
print(json.dumps({"cpu": time.process_time() - started, "orders": metrics.orders,
                  "metrics": dataclasses.asdict(metrics)}, sort_keys=True, default=str))
"""


def _start(checkout: Path, policy: str, days: int, seed: int, vendors: str) -> subprocess.Popen:
    command = [sys.executable, "-c", CHILD, policy, str(days), str(seed), vendors]
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
    args = parser.parse_args()

    gauge = _result(_start(ROOT, "full_15min", args.days, args.seed, ""))
    runs = {"this checkout": _start(ROOT, "dropnet", args.days, args.seed, args.vendors)}
    if args.against:
        runs[str(args.against)] = _start(
            args.against.resolve(), "dropnet", args.days, args.seed, args.vendors
        )
    results = {name: _result(process) for name, process in runs.items()}

    print(f"slice: seed {args.seed}, {args.days} days, vendors {{{args.vendors}}}")
    print(f"gauge: full_15min on the whole world, {gauge['orders']:,} orders, {gauge['cpu']:.1f} s CPU")
    print(f"{'dropnet from':<28} {'orders':>7} {'CPU s':>8} {'ms/order':>9} {'/ gauge':>8}")
    for name, result in results.items():
        per_order = 1000 * result["cpu"] / result["orders"]
        print(
            f"{name:<28} {result['orders']:>7,} {result['cpu']:>8.1f} {per_order:>9.2f}"
            f" {result['cpu'] / gauge['cpu']:>8.1f}"
        )
    if args.against:
        mine, theirs = results.values()
        print(f"CPU ratio, this checkout / the other: {mine['cpu'] / theirs['cpu']:.2f}")
        print(f"figures identical: {'yes' if mine['metrics'] == theirs['metrics'] else 'NO'}")


if __name__ == "__main__":
    main()
