"""Worlds small enough to reason about by hand, and a way to run a policy on one."""

from __future__ import annotations

import dataclasses

from network.simulation.config import Catalog, Demand, Hub, Returns, SimConfig, VendorSpec, VendorStock
from network.simulation.engine import Engine
from network.simulation.metrics import Metrics
from network.simulation.runner import make_policy
from network.simulation.world import World, build_world

ONE_CHANNEL = (1.0, 0.0, 0.0)  # every customer on the own site


def vendor(name: str = "V", **overrides: object) -> VendorSpec:
    """A vendor with instant feeds: it imports orders and exports its count every 5 minutes, in
    that order, and never breaks or silences its export."""
    spec = VendorSpec(
        name,
        feed_minutes=5,
        feed_offset_minutes=5,
        po_batch_minutes=5,
        broken_per_month=0.0,
        silent_per_month=0.0,
    )
    return dataclasses.replace(spec, **overrides)


def tiny(
    *,
    vendors: tuple[VendorSpec, ...] | None = None,
    skus: int = 20,
    retailers: int = 1,
    channels: tuple[float, float, float] = ONE_CHANNEL,
    outside: float = 0.0,
    returns: float = 0.0,
    orders_per_day: float = 400.0,
    days: int = 1,
    twins: float = 0.0,
    quick_returns: bool = False,
    stock: float = 0.3,
    **overrides: object,
) -> SimConfig:
    """One day of a small world; stock (days of demand) is kept low so that products sell out within the day."""
    return dataclasses.replace(
        SimConfig(),
        days=days,
        vendors=vendors or (vendor(),),
        catalog=Catalog(
            skus_per_vendor=skus, retailers=retailers, second_source_share=twins, assortment_share=1.0
        ),
        demand=Demand(
            orders_per_day=orders_per_day, channel_shares=channels, spike_day=0, popularity_sigma=0.5
        ),
        vendor_stock=VendorStock(
            outside_ratio=outside,
            review_days=1.0,
            lead_days=(0.5, 1.0),
            safety_factor=stock,
            min_order_up_to=1,
        ),
        # Quick returns come back (and are graded) within hours, so that a one-day world sees them.
        returns=Returns(
            rate=returns, request_days=(0.05, 0.2), transit_days=(0.05, 0.1), inspection_days=(0.05, 0.1)
        )
        if quick_returns
        else Returns(rate=returns),
        hub=Hub(stale_sweep_minutes=5, flag_evaluation_minutes=60),
        **overrides,
    ).check()


def run(
    config: SimConfig, policy: str, *, seed: int = 1, world: World | None = None, **options: object
) -> Metrics:
    world = world or build_world(config, seed)
    built = make_policy(policy, config, **options)
    try:
        return Engine(world, built).run()
    finally:
        built.close()
