"""Run policies over seeds: each (policy, seed) on the same world, independent vendor groups side by side.

Seeds run side by side on `workers` processes. A single seed can also be split: the world
falls into components, groups of vendors that share no product (see `World.components`), and
what a policy does for one group does not touch another, so each group can run apart, in its
own process and (for Dropnet) its own database, the parts' counts adding up to the whole run's
(the tests check it for the baselines). That is how one seed of the full world fits on two
cores; with `workers=1` everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from network.simulation.config import SimConfig
from network.simulation.engine import Engine, Policy
from network.simulation.metrics import Metrics
from network.simulation.policies import BASELINES, CHOICES, DROPNET_PREDICTIVE, HUB_POLICIES, NAMES
from network.simulation.store import RunStore
from network.simulation.world import World, build_world


@dataclass(frozen=True)
class Job:
    policies: tuple[str, ...]  # run one after the other on one world (built once)
    seed: int
    vendors: tuple[int, ...] | None  # None: the whole world


@dataclass
class RunResult:
    """Every run's metrics by policy (one per seed, parts merged) and the wall time it took."""

    config: SimConfig
    seeds: tuple[int, ...]
    policies: tuple[str, ...]
    runs: dict[str, list[Metrics]]
    seconds: float
    job_seconds: dict[str, float]


def make_policy(name: str, config: SimConfig, *, database_url: str | None = None) -> Policy:
    """Raises KeyError for an unknown policy name."""
    if name in HUB_POLICIES:
        from network.simulation.policies.dropnet import make  # the hub's models load only when needed

        return make(config, database_url=database_url, predictive=name == DROPNET_PREDICTIVE)
    return BASELINES[name](config)


def run_one(world: World, name: str, *, database_url: str | None = None) -> Metrics:
    """Run one policy on one world (or part of one) in this process."""
    policy = make_policy(name, world.config, database_url=database_url)
    try:
        return Engine(world, policy).run()
    finally:
        policy.close()


@lru_cache(maxsize=2)
def _world(config: SimConfig, seed: int) -> World:
    return build_world(config, seed)


def _run_job(args: tuple[SimConfig, Job, str | None]) -> list[tuple[str, Job, Metrics, float]]:
    config, job, database_url = args
    world = _world(config, job.seed)
    if job.vendors is not None:
        world = world.restrict(job.vendors)
    done = []
    for name in job.policies:
        started = time.perf_counter()
        metrics = run_one(world, name, database_url=database_url)
        done.append((name, job, metrics, time.perf_counter() - started))
    return done


def plan_jobs(config: SimConfig, seeds: Sequence[int], policies: Sequence[str], workers: int) -> list[Job]:
    """One job per seed for the quick baselines, one per seed for Dropnet.

    With more workers than seeds, Dropnet's run is split into vendor groups instead, so that a
    single seed still uses every worker. Either way the figures are the same, but for one
    coupling: a retailer's throttled marketplace (A) coalesces pushes across all its items, so
    with groups each group's items keep their own 10-minute clock (docs/simulation.md).
    """
    jobs = []
    baselines = tuple(name for name in policies if name not in HUB_POLICIES)
    split = workers > len(seeds)
    for seed in seeds:
        for hub in (name for name in policies if name in HUB_POLICIES):
            groups = _groups(_world(config, seed), workers) if split else [None]
            jobs += [Job((hub,), seed, group) for group in groups]
        if baselines:
            jobs.append(Job(baselines, seed, None))
    # Longest first (the Dropnet parts), so the last job to finish is a short one.
    return sorted(jobs, key=_longest_first)


def _longest_first(job: Job) -> tuple[bool, int]:
    return (job.policies[0] not in HUB_POLICIES, job.seed)


def _groups(world: World, workers: int) -> list[tuple[int, ...]]:
    """Pack components into at most `workers` groups of similar size (by customer orders)."""
    load = {v: 0 for v in world.vendors}
    for order in world.orders:
        load[world.skus[world.products[order.product].sources[0]].vendor] += 1
    parts = sorted(world.components(), key=lambda c: -sum(load[v] for v in c))
    groups: list[list[int]] = [[] for _ in range(min(workers, len(parts)))]
    for part in parts:
        lightest = min(groups, key=lambda g: sum(load[v] for v in g))
        lightest.extend(part)
    return [tuple(sorted(g)) for g in groups if g]


def run(
    config: SimConfig,
    *,
    seeds: Sequence[int],
    policies: Sequence[str] = NAMES,
    workers: int = 1,
    database_url: str | None = None,
    progress: Callable[[str], None] | None = None,
    store: RunStore | None = None,
) -> RunResult:
    """Run every policy on every seed's world; return the merged metrics per policy and seed.

    With a `store`, seeds it already holds are loaded instead of run again, and each seed is
    saved as soon as it is complete (a seed run in parts, once its last part is in).
    Raises KeyError for an unknown policy name.
    """
    unknown = [name for name in policies if name not in CHOICES]
    if unknown:
        raise KeyError(unknown[0])
    started = time.perf_counter()
    parts: dict[tuple[str, int], Metrics] = {}
    job_seconds: dict[str, float] = {}
    stored = {} if store is None else store.load_all(policies, seeds)
    for (name, seed), (metrics, seconds) in stored.items():
        parts[name, seed] = metrics
        job_seconds[f"{name} seed {seed}"] = seconds
    missing = {seed: tuple(name for name in policies if (name, seed) not in stored) for seed in seeds}
    jobs = []
    for names in sorted(set(missing.values()) - {()}):
        jobs += plan_jobs(config, [seed for seed in seeds if missing[seed] == names], names, workers)
    jobs.sort(key=_longest_first)
    tasks = [(config, job, database_url) for job in jobs]
    collect = _Collector(jobs, parts, job_seconds, progress, store)
    if workers > 1 and len(tasks) > 1:
        with multiprocessing.get_context("spawn").Pool(min(workers, len(tasks))) as pool:
            collect(pool.imap_unordered(_run_job, tasks))
    else:
        collect(map(_run_job, tasks))
    runs = {name: [parts[name, seed] for seed in seeds] for name in policies}
    return RunResult(config, tuple(seeds), tuple(policies), runs, time.perf_counter() - started, job_seconds)


class _Collector:
    """Merge finished jobs into whole seeds; save each seed to the store once all its parts are in."""

    def __init__(self, jobs, parts, job_seconds, progress, store) -> None:  # noqa: ANN001
        self.parts, self.job_seconds, self.progress, self.store = parts, job_seconds, progress, store
        self.pending: dict[tuple[str, int], int] = defaultdict(int)  # parts still to come
        for job in jobs:
            for name in job.policies:
                self.pending[name, job.seed] += 1
        self.seconds: dict[tuple[str, int], float] = defaultdict(float)  # the longest part's

    def __call__(self, results) -> None:  # noqa: ANN001
        for done in results:
            for name, job, metrics, seconds in done:
                self._add(name, job, metrics, seconds)

    def _add(self, name: str, job: Job, metrics: Metrics, seconds: float) -> None:
        key = (name, job.seed)
        self.parts[key] = self.parts[key].merge(metrics) if key in self.parts else metrics
        self.seconds[key] = max(self.seconds[key], seconds)  # the parts run side by side
        self.pending[key] -= 1
        if self.store is not None and not self.pending[key]:
            self.store.save(name, job.seed, self.parts[key], self.seconds[key])
        label = f"{name} seed {job.seed}" + (f" vendors {list(job.vendors)}" if job.vendors else "")
        self.job_seconds[label] = seconds
        if self.progress is not None:
            self.progress(f"{label}: {metrics.orders} orders in {seconds:.0f} s")
