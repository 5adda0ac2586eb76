"""The predictive term of the availability formula (DESIGN §5 and §14, issue 18): the units a
source's outside sales will probably have taken by the time its vendor imports an order.

For a retailer on the predictive model, a source offers its free units (count less committed less
buffer) less `predicted_depletion`: the quantile of the vendor's outside sales over the count's age
plus the vendor's import delay, at the probability where the expected cost of a cancellation
balances the expected margin of the sale (network/availability/depletion.py). Read in one batch per
computation (`load`), then applied source by source (`predicted_depletion`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability import depletion
from network.availability.models import AvailabilitySettings, DepletionEstimate, VendorDepletion
from network.catalog.models import VendorVariant

# Until the hub has seen enough of a vendor's acknowledgements to measure its import delay.
DEFAULT_IMPORT_DELAY_MINUTES = 60.0
DEFAULT_MARGIN_SHARE = 0.3  # when the variant's cost is unknown too


@dataclass(frozen=True, slots=True)
class Depletion:
    """The predictive term of one source, with its inputs (what an explanation shows)."""

    units: int  # taken off the source's free units
    rate_per_hour: float  # the estimated outside-sales rate
    horizon_minutes: float  # the count's age plus the vendor's import delay
    probability: float  # the quantile: outside sales stay at or under `units` with this probability


@dataclass
class Inputs:
    estimates: dict[int, depletion.Estimate] = field(default_factory=dict)
    vendors: dict[int, tuple[float, float | None]] = field(default_factory=dict)  # prior rate, delay
    prices: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)  # msrp, cost
    retailers: dict[int, tuple[float, float | None]] = field(default_factory=dict)  # cost, margin share


def load(session: Session, variant_ids: Sequence[int], retailer_ids: Sequence[int]) -> Inputs:
    """What the predictive term needs of some variants and retailers: two queries of plain columns
    (it runs for every figure a predictive retailer publishes; the four entity queries it replaced
    were a tenth of the simulator's predictive run)."""
    inputs = Inputs()
    ids = sorted(set(variant_ids))
    est, vendor = DepletionEstimate, VendorDepletion
    rows = session.execute(
        sa.select(
            VendorVariant.id,
            VendorVariant.msrp,
            VendorVariant.cost,
            VendorVariant.vendor_id,
            est.variant_id,
            est.shape,
            est.exposure,
            est.at,
            est.recent_sales,
            est.recent_minutes,
            vendor.vendor_id,
            vendor.prior_rate,
            vendor.import_delay_minutes,
        )
        .outerjoin(est, est.variant_id == VendorVariant.id)
        .outerjoin(vendor, vendor.vendor_id == VendorVariant.vendor_id)
        .where(VendorVariant.id.in_(ids))
    )
    for (
        vid,
        msrp,
        cost,
        vendor_id,
        estimated,
        shape,
        exposure,
        at,
        sales,
        minutes,
        known,
        prior,
        delay,
    ) in rows:
        inputs.prices[vid] = (_float(msrp), _float(cost))
        if estimated is not None:
            inputs.estimates[vid] = depletion.Estimate(shape, exposure, at, sales, minutes)
        inputs.vendors[vendor_id] = (prior, delay) if known is not None else (0.0, None)
    for retailer_id, cancellation_cost, margin_share in session.execute(
        sa.select(
            AvailabilitySettings.retailer_id,
            AvailabilitySettings.cancellation_cost,
            AvailabilitySettings.margin_share,
        ).where(AvailabilitySettings.retailer_id.in_(sorted(set(retailer_ids))))
    ):
        inputs.retailers[retailer_id] = (cancellation_cost, margin_share)
    return inputs


def _float(value: object) -> float | None:
    return None if value is None else float(value)


def margin(price: float | None, cost: float | None, share: float | None) -> float | None:
    """What a unit earns the retailer: its share of the price, or the price less the vendor's cost."""
    if price is None or price <= 0:
        return None
    if share is not None:
        return share * price
    if cost is not None and 0 <= cost < price:
        return price - cost
    return DEFAULT_MARGIN_SHARE * price


def predicted_depletion(
    inputs: Inputs,
    *,
    retailer_id: int,
    variant_id: int,
    vendor_id: int,
    free: int,
    as_of: dt.datetime | None,
    now: dt.datetime,
) -> Depletion:
    """The units outside sales will probably have taken of a source's `free` units by the time the
    vendor imports an order taken now. None of them before the hub has learned anything of the vendor."""
    cost, share = inputs.retailers.get(retailer_id, (100.0, None))
    price, unit_cost = inputs.prices.get(variant_id, (None, None))
    probability = depletion.risk_quantile(cancellation_cost=cost, margin=margin(price, unit_cost, share))
    estimate, horizon = outlook(inputs, variant_id=variant_id, vendor_id=vendor_id, as_of=as_of, now=now)
    if estimate is None:
        return Depletion(0, 0.0, 0.0, probability)
    _, taken = depletion.offered(free, estimate, horizon_minutes=horizon, probability=probability)
    return Depletion(taken, estimate.rate * 60, horizon, probability)


def outlook(
    inputs: Inputs,
    *,
    variant_id: int,
    vendor_id: int,
    as_of: dt.datetime | None,
    now: dt.datetime,
    placed_at: dt.datetime | None = None,
) -> tuple[depletion.Estimate | None, float]:
    """The variant's estimate brought up to its count, and the horizon in minutes over which outside
    sales can still take units counted at `as_of`: until the vendor imports an order placed at
    `placed_at` (default: now), or now if that is later. (None, 0) before the hub has learned
    anything of the variant, or without a count."""
    estimate = inputs.estimates.get(variant_id)
    if estimate is None or as_of is None:
        return None, 0.0
    prior_rate, delay = inputs.vendors.get(vendor_id, (0.0, None))
    # The count did not move since the estimate's last lesson: that time taught "no sales".
    estimate = depletion.quiet_until(estimate, prior_rate=prior_rate, at=min(as_of, now))
    delay_minutes = DEFAULT_IMPORT_DELAY_MINUTES if delay is None else delay
    if placed_at is None:
        return estimate, max(0.0, (now - as_of) / depletion.MINUTE) + delay_minutes
    imported_at = placed_at + dt.timedelta(minutes=delay_minutes)
    return estimate, max(0.0, (max(now, imported_at) - as_of) / depletion.MINUTE)


def channel_depletion(
    inputs: Inputs,
    *,
    retailer_id: int,
    variant_id: int,
    vendor_id: int,
    free: int,
    as_of: dt.datetime | None,
    now: dt.datetime,
    interval_minutes: float,
) -> Depletion:
    """A channel's automatic buffer on one source (issue 18): the units outside sales will probably
    take over the channel's update interval, beyond what `predicted_depletion` already took.

    A channel shows a figure until it can next be corrected, `interval_minutes` on: an order taken
    then reaches a vendor whose count is that much older. So the source shows `free` less the
    depletion quantile over the whole horizon plus the interval; this term is that quantile less the
    one over the horizon alone (`horizon_minutes` here is the interval). Both are capped at `free`, so
    the channel never shows less than nothing nor more than the hub; a longer interval never takes
    fewer units, and a slow item whose outside sales will probably not reach one unit loses none.
    """
    cost, share = inputs.retailers.get(retailer_id, (100.0, None))
    price, unit_cost = inputs.prices.get(variant_id, (None, None))
    probability = depletion.risk_quantile(cancellation_cost=cost, margin=margin(price, unit_cost, share))
    estimate, horizon = outlook(inputs, variant_id=variant_id, vendor_id=vendor_id, as_of=as_of, now=now)
    interval = max(0.0, interval_minutes)
    if estimate is None or interval <= 0 or free <= 0:
        return Depletion(0, 0.0 if estimate is None else estimate.rate * 60, interval, probability)
    before = depletion.depletion_quantile(estimate, horizon, probability, cap=free)
    after = depletion.depletion_quantile(estimate, horizon + interval, probability, cap=free)
    return Depletion(after - before, estimate.rate * 60, interval, probability)
