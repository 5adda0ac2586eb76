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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from network.simulation.config import SimConfig
from network.simulation.engine import Engine, Policy
from network.simulation.metrics import Metrics
from network.simulation.policies import BASELINES, DROPNET, NAMES
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
    if name == DROPNET:
        from network.simulation.policies.dropnet import make  # the hub's models load only when needed

        return make(config, database_url=database_url)
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
    baselines = tuple(name for name in policies if name != DROPNET)
    split = workers > len(seeds)
    for seed in seeds:
        if DROPNET in policies:
            groups = _groups(_world(config, seed), workers) if split else [None]
            jobs += [Job((DROPNET,), seed, group) for group in groups]
        if baselines:
            jobs.append(Job(baselines, seed, None))
    # Longest first (the Dropnet parts), so the last job to finish is a short one.
    return sorted(jobs, key=lambda job: (DROPNET not in job.policies, job.seed))


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

    With a `store`, runs it already holds are loaded instead of run again, and each run that
    finishes is saved as soon as it does. Raises KeyError for an unknown policy name.
    """
    unknown = [name for name in policies if name not in NAMES]
    if unknown:
        raise KeyError(unknown[0])
    started = time.perf_counter()
    parts: dict[tuple[str, int], Metrics] = {}
    job_seconds: dict[str, float] = {}
    stored = _stored(store, seeds, policies)
    missing = {seed: tuple(name for name in policies if (name, seed) not in stored) for seed in seeds}
    planned = []
    for names in sorted(set(missing.values()) - {()}):
        planned += plan_jobs(config, [seed for seed in seeds if missing[seed] == names], names, workers)
    planned.sort(key=lambda job: (DROPNET not in job.policies, job.seed))
    jobs = [job for job in planned if not _load_job(store, job, parts, job_seconds)]
    for (name, seed), (metrics, seconds) in stored.items():
        parts[name, seed] = metrics
        job_seconds[f"{name} seed {seed}"] = seconds
    tasks = [(config, job, database_url) for job in jobs]
    if workers > 1 and len(tasks) > 1:
        with multiprocessing.get_context("spawn").Pool(min(workers, len(tasks))) as pool:
            results = pool.imap_unordered(_run_job, tasks)
            _collect(results, parts, job_seconds, progress, store)
    else:
        _collect(map(_run_job, tasks), parts, job_seconds, progress, store)
    if store is not None:  # a split seed's merged figures serve a later run that splits it otherwise
        for job in jobs:
            if job.vendors is not None:
                for name in job.policies:
                    store.save(
                        name,
                        job.seed,
                        None,
                        parts[name, job.seed],
                        _seed_seconds(job_seconds, name, job.seed),
                    )
    runs = {name: [parts[name, seed] for seed in seeds] for name in policies}
    return RunResult(config, tuple(seeds), tuple(policies), runs, time.perf_counter() - started, job_seconds)


def _seed_seconds(job_seconds: dict[str, float], name: str, seed: int) -> float:
    """The longest part's time: the parts run side by side."""
    prefix = f"{name} seed {seed} vendors "
    return max(seconds for label, seconds in job_seconds.items() if label.startswith(prefix))


def _stored(
    store: RunStore | None, seeds: Sequence[int], policies: Sequence[str]
) -> dict[tuple[str, int], tuple[Metrics, float]]:
    """Whole-seed runs the store already holds."""
    if store is None:
        return {}
    found = {(name, seed): store.load(name, seed) for seed in seeds for name in policies}
    return {key: value for key, value in found.items() if value is not None}


def _load_job(
    store: RunStore | None,
    job: Job,
    parts: dict[tuple[str, int], Metrics],
    job_seconds: dict[str, float],
) -> bool:
    """Take a split job's results from the store if it holds all of them (True), else leave it to run.

    (Whole seeds were looked up before planning.)
    """
    if store is None or job.vendors is None:
        return False
    loaded = [store.load(name, job.seed, job.vendors) for name in job.policies]
    if any(item is None for item in loaded):
        return False
    for name, (metrics, seconds) in zip(job.policies, loaded, strict=True):
        key = (name, job.seed)
        parts[key] = parts[key].merge(metrics) if key in parts else metrics
        job_seconds[f"{name} seed {job.seed} vendors {list(job.vendors)}"] = seconds
    return True


def _collect(
    results,  # noqa: ANN001
    parts: dict,
    job_seconds: dict,
    progress: Callable[[str], None] | None,
    store: RunStore | None = None,
) -> None:
    for done in results:
        for name, job, metrics, seconds in done:
            if store is not None:
                store.save(name, job.seed, job.vendors, metrics, seconds)
            key = (name, job.seed)
            parts[key] = parts[key].merge(metrics) if key in parts else metrics
            label = f"{name} seed {job.seed}" + (f" vendors {list(job.vendors)}" if job.vendors else "")
            job_seconds[label] = seconds
            if progress is not None:
                progress(f"{label}: {metrics.orders} orders in {seconds:.0f} s")
