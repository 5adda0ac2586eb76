"""The world's exogenous events, each source drawn from its own stream (see world.py).

Customers (Poisson arrivals shaped by the hourly profile, with their order's future drawn at
once), the vendors' outside sales, their periodic restock reviews, and their exports with
broken and silent episodes.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from network.simulation.config import DELTA, SimConfig

if TYPE_CHECKING:
    from network.simulation.world import Sku

DAY = 1440.0


def stream(seed: int, *name: object) -> random.Random:
    """Return the random stream of one named source, the same for a given seed on every run."""
    digest = hashlib.sha256(f"{seed}/{'/'.join(map(str, name))}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True, slots=True)
class CustomerOrder:
    """One customer wanting `quantity` units of a product on one channel of one retailer.

    What happens afterwards is drawn now, so that it is the same under every policy: whether
    the shipped units come back, when, and how many of them are damaged.
    """

    at: float
    ref: str
    retailer: int
    channel: int
    product: int
    quantity: int
    returned: bool
    request_after: float
    transit: float
    inspection: float
    damaged_units: int


@dataclass(frozen=True, slots=True)
class OutsideSale:
    at: float
    sku: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Review:
    at: float
    sku: int
    lead: float  # minutes until what the vendor orders now arrives


@dataclass(frozen=True, slots=True)
class Export:
    """A vendor's export tick: full or delta; broken (keeps a share of rows) or silent (no new file)."""

    at: float
    vendor: int
    full: bool
    keep: float | None = None  # a broken full export keeps only this share of its rows
    silent: bool = False


def customer_orders(
    config: SimConfig,
    seed: int,
    assortment: list[list[int]],
    popularity: list[float],
    per_weight: float,
    spiked: list[int],
) -> list[CustomerOrder]:
    demand = config.demand
    profile = _normalized(demand.hourly_profile)
    peak = max(profile)
    horizon = config.minutes
    spike_from = (demand.spike_day - 1) * DAY
    orders = []
    for r, listed in enumerate(assortment):
        for p in listed:
            for c, share in enumerate(demand.channel_shares):
                daily = per_weight * popularity[p] * share
                if daily <= 0:
                    continue
                rng = stream(seed, "demand", r, p, c)
                orders += _arrivals(rng, daily, profile, peak, 0.0, horizon, config, (r, c, p, "d"))
                if p in spiked:
                    extra = daily * (demand.spike_factor - 1)
                    rng = stream(seed, "spike-demand", r, p, c)
                    orders += _arrivals(
                        rng, extra, profile, peak, spike_from, spike_from + DAY, config, (r, c, p, "s")
                    )
    orders.sort(key=lambda o: (o.at, o.ref))
    return orders


def _arrivals(
    rng: random.Random,
    daily: float,
    profile: tuple[float, ...],
    peak: float,
    start: float,
    end: float,
    config: SimConfig,
    tag: tuple,
) -> list[CustomerOrder]:
    """Poisson arrivals with the hourly profile (thinning), each with its own future drawn."""
    rate = daily * peak / DAY  # per minute, at the busiest hour
    weights = config.demand.quantity_weights
    ret = config.returns
    result = []
    t = start
    n = 0
    r, c, p, kind = tag
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return result
        accept = rng.random() < profile[int(t // 60) % 24] / peak
        quantity = rng.choices(range(1, len(weights) + 1), weights)[0]
        returned = rng.random() < ret.rate
        request = rng.uniform(*ret.request_days) * DAY
        transit = rng.uniform(*ret.transit_days) * DAY
        inspection = rng.uniform(*ret.inspection_days) * DAY
        damaged = sum(rng.random() < ret.damaged_share for _ in range(quantity))
        if accept:
            n += 1
            result.append(
                CustomerOrder(
                    at=t,
                    ref=f"{kind}{r}-{c}-{p}-{n}",
                    retailer=r,
                    channel=c,
                    product=p,
                    quantity=quantity,
                    returned=returned,
                    request_after=request,
                    transit=transit,
                    inspection=inspection,
                    damaged_units=damaged,
                )
            )


def outside_sales(
    config: SimConfig, seed: int, skus: list[Sku], rates: dict[int, float]
) -> list[OutsideSale]:
    profile = config.demand.hourly_profile
    peak = max(profile)
    weights = config.demand.quantity_weights
    sales = []
    for sku in skus:
        daily = rates[sku.id]
        if daily <= 0:
            continue
        rng = stream(seed, "outside", sku.id)
        rate = daily * peak / DAY
        t = 0.0
        while True:
            t += rng.expovariate(rate)
            if t >= config.minutes:
                break
            accept = rng.random() < profile[int(t // 60) % 24] / peak
            quantity = rng.choices(range(1, len(weights) + 1), weights)[0]
            if accept:
                sales.append(OutsideSale(t, sku.id, quantity))
    sales.sort(key=lambda s: (s.at, s.sku))
    return sales


def reviews(config: SimConfig, seed: int, skus: list[Sku]) -> list[Review]:
    stock = config.vendor_stock
    every = stock.review_days * DAY
    reviews = []
    for sku in skus:
        rng = stream(seed, "restock", sku.id)
        t = rng.uniform(0, every)
        while t < config.minutes:
            reviews.append(Review(t, sku.id, rng.uniform(*stock.lead_days) * DAY))
            t += every
    reviews.sort(key=lambda r: (r.at, r.sku))
    return reviews


def exports(config: SimConfig, seed: int) -> list[Export]:
    """Every vendor exports at t=0, then on its cadence; some exports break, some periods go silent."""
    exports = []
    for v, spec in enumerate(config.vendors):
        rng = stream(seed, "exports", v)
        phase = rng.uniform(0, spec.feed_minutes)
        if spec.feed_offset_minutes is not None:
            phase = spec.feed_offset_minutes or spec.feed_minutes  # t=0 already has its export
        silences = []
        for _ in range(_poisson(rng, spec.silent_per_month * config.days / 30)):
            begin = rng.uniform(0, config.minutes)
            silences.append((begin, begin + rng.uniform(*spec.silent_hours) * 60))
        fulls = config.minutes / (spec.full_every_minutes if spec.mode == DELTA else spec.feed_minutes)
        p_broken = min(1.0, spec.broken_per_month * config.days / 30 / max(fulls, 1))
        exports.append(Export(0.0, v, True))
        t = phase
        last_full = 0.0
        while t < config.minutes:
            full = spec.mode != DELTA or t - last_full >= spec.full_every_minutes
            broken = rng.random() < p_broken
            keep = rng.uniform(*spec.broken_keep)
            silent = any(begin <= t < end for begin, end in silences)
            if full:
                last_full = t
            exports.append(Export(t, v, full, keep if (full and broken and not silent) else None, silent))
            t += spec.feed_minutes
    exports.sort(key=lambda e: (e.at, e.vendor))
    return exports


def _normalized(profile: tuple[float, ...]) -> tuple[float, ...]:
    mean = sum(profile) / len(profile)
    return tuple(x / mean for x in profile)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means here are small."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
