"""Outside sales of a vendor variant, learned from its counts, and the units they will probably take
(DESIGN §14, issue 18). Plain values in and out: the arithmetic only.

Two successive counts of a variant, less the hub's own units the vendor accounted for in between,
give what the vendor sold on its other channels over that interval. The rate of those sales is a
Gamma posterior over a Poisson rate (`Estimate`: discounted sales `shape` over discounted exposure
`exposure`, in minutes), updated interval by interval:

- old evidence fades with a half-life (`HALF_LIFE_MINUTES`), the cold-start prior (the vendor's
  other variants) with it down to a floor, so a variant that changed pace is followed within days,
  one never seen is judged like its siblings, and one seen long enough by its own sales alone;
- when the last few hours' sales (`recent_sales`, fading with `RECENT_HALF_LIFE_MINUTES`), or the
  interval's alone, were all but impossible under the estimate (either tail beyond `SURPRISE`),
  the pace changed: the latest interval replaces the past, so a spike is followed within a count
  or two (one, once it is a few sales an hour) and its end within hours, while ordinary Poisson
  noise moves the estimate only by its own weight;
- an interval in which the count rose beyond the hub's units (a restock, a graded return) says
  nothing about sales: it only lets the past fade (`censored`).

Outside sales over a horizon are then negative binomial (the Gamma–Poisson mixture), and
`depletion_quantile` gives the units they will have taken at a chosen probability.
`risk_quantile` is the probability at which a unit is worth offering: offering one more unit earns
the margin if the vendor still has it, costs a cancellation if not.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

MINUTE = dt.timedelta(minutes=1)
HALF_LIFE_MINUTES = 3 * 24 * 60.0  # old evidence weighs half after three days
# The cold-start prior weighs like a day of the variant's own observation at first; it fades like
# any evidence, but never below ten minutes', so that a variant whose history has all faded (a
# long run of restocks) falls back on its siblings rather than on nothing, while a variant with
# days of its own counts is judged by them (the floor against three days of half-life: under 1 %).
PRIOR_EXPOSURE_MINUTES = 24 * 60.0
PRIOR_FLOOR_MINUTES = 10.0
# An interval whose sales had less than this probability under the estimate (either tail) is a
# change of pace (one in a million: Poisson noise over a catalog of thousands of variants and
# months of counts should almost never pass for one); the latest interval then replaces the past.
SURPRISE = 1e-6
# The evidence a change of pace is judged on: the last few hours, fading with this half-life.
RECENT_HALF_LIFE_MINUTES = 2 * 60.0
# When the margin of a unit is unknown (no price), a unit is offered if the vendor very probably
# still has it at this probability.
DEFAULT_RISK_QUANTILE = 0.8

_TAU = HALF_LIFE_MINUTES / math.log(2)
_RECENT_TAU = RECENT_HALF_LIFE_MINUTES / math.log(2)


@dataclass(frozen=True, slots=True)
class Estimate:
    """The Gamma posterior of a variant's outside-sales rate (per minute), as of `at`.

    `shape` / `exposure` is the mean rate; the larger `exposure`, the surer it is. `recent_sales`
    over `recent_minutes` is the last few hours' evidence alone (`RECENT_HALF_LIFE_MINUTES`),
    which tells a change of pace from noise.
    """

    shape: float
    exposure: float  # minutes
    at: dt.datetime
    recent_sales: float = 0.0
    recent_minutes: float = 0.0

    @property
    def rate(self) -> float:
        return self.shape / self.exposure if self.exposure > 0 else 0.0


def prior(rate: float, at: dt.datetime) -> Estimate:
    """The cold start: the vendor's other variants' rate (per minute), weighing a day of exposure."""
    return Estimate(max(0.0, rate) * PRIOR_EXPOSURE_MINUTES, PRIOR_EXPOSURE_MINUTES, at)


def observe(
    estimate: Estimate,
    *,
    prior_rate: float,
    start: dt.datetime,
    end: dt.datetime,
    sales: int | None,
) -> Estimate:
    """Learn from one interval of counts: `sales` outside sales between `start` and `end`.

    `sales` None: the count rose beyond the hub's units (censored), only time passes. The time
    between `estimate.at` and `start` is known quiet (the count did not move) and is learned as
    an interval with no sales. An interval ending before the estimate is ignored.
    """
    if end <= estimate.at:
        return estimate
    start = min(max(start, estimate.at), end)
    if start > estimate.at:
        estimate = _learn(estimate, prior_rate, (start - estimate.at) / MINUTE, 0, start)
    return _learn(estimate, prior_rate, (end - start) / MINUTE, sales, end)


def quiet_until(estimate: Estimate, *, prior_rate: float, at: dt.datetime) -> Estimate:
    """The estimate after a time in which the count was confirmed unchanged (no sales) up to `at`."""
    if at <= estimate.at:
        return estimate
    return _learn(estimate, prior_rate, (at - estimate.at) / MINUTE, 0, at)


def _faded(minutes: float, tau: float) -> tuple[float, float]:
    """(kept share of old evidence, weight of an interval of `minutes`) under fading with `tau`:
    the interval's weight is the integral of the fading over it, so its rate is kept."""
    return math.exp(-minutes / tau), tau * -math.expm1(-minutes / tau)


def _learn(
    estimate: Estimate, prior_rate: float, minutes: float, sales: int | None, end: dt.datetime
) -> Estimate:
    if minutes <= 0:  # two counts of one moment: no time to learn a rate from
        return replace(estimate, at=end)
    base_rate = max(0.0, prior_rate)
    # The last few hours' evidence, this interval included.
    kept, weight = _faded(minutes, _RECENT_TAU)
    recent_sales = estimate.recent_sales * kept
    recent_minutes = estimate.recent_minutes * kept
    if sales is not None:
        recent_sales += sales * weight / minutes
        recent_minutes += weight
    if sales is not None and (
        _is_surprise(estimate.shape, estimate.exposure, recent_minutes, round(recent_sales))
        or _is_surprise(estimate.shape, estimate.exposure, minutes, sales)
    ):
        # A change of pace: the interval that showed it replaces the past (over the prior's
        # floor), and the recent hours start again from it.
        # The prior keeps a minute's weight only, lest it outweigh the interval that disproved it.
        return Estimate(
            base_rate + sales * weight / minutes,
            1.0 + weight,
            end,
            sales * weight / minutes,
            weight,
        )
    # Fade towards the prior's floor over the interval, then add the interval's evidence.
    kept, weight = _faded(minutes, _TAU)
    floor_shape = base_rate * PRIOR_FLOOR_MINUTES
    shape = floor_shape + kept * (estimate.shape - floor_shape)
    exposure = PRIOR_FLOOR_MINUTES + kept * (estimate.exposure - PRIOR_FLOOR_MINUTES)
    if sales is not None:
        shape += sales * weight / minutes
        exposure += weight
    return Estimate(max(0.0, shape), max(exposure, 1e-9), end, recent_sales, recent_minutes)


def _is_surprise(shape: float, exposure: float, minutes: float, sales: int) -> bool:
    """Were `sales` in `minutes` beyond what the estimate expected, in either tail?"""
    if shape <= 0:
        return sales > 0
    below = nb_cdf(sales, shape, exposure, minutes)  # P(X <= sales)
    above = 1.0 - (nb_cdf(sales - 1, shape, exposure, minutes) if sales > 0 else 0.0)  # P(X >= sales)
    return min(below, above) < SURPRISE


def _log_pmf(k: int, shape: float, p: float) -> float:
    """log P(X = k), X negative binomial with `shape` and success probability `p`."""
    log_q = math.log1p(-p) if p < 1 else -math.inf
    if k == 0:
        return shape * math.log(p)
    return math.lgamma(shape + k) - math.lgamma(shape) - math.lgamma(k + 1) + shape * math.log(p) + k * log_q


def _moments(shape: float, exposure: float, minutes: float) -> tuple[float, float]:
    mean = shape * minutes / exposure
    return mean, math.sqrt(mean + mean * mean / shape)


def nb_cdf(k: int, shape: float, exposure: float, minutes: float) -> float:
    """P(outside sales over `minutes` <= k) under the estimate (shape, exposure)."""
    if k < 0:
        return 0.0
    if shape <= 0 or minutes <= 0:
        return 1.0
    p = exposure / (exposure + minutes)
    mean, sd = _moments(shape, exposure, minutes)
    start = max(0, int(mean - 12 * sd))  # below this the mass is negligible
    if k < start:
        return 0.0
    total = 0.0
    for j in range(start, k + 1):
        total += math.exp(_log_pmf(j, shape, p))
        if total >= 1.0:
            return 1.0
    return total


def still_there(estimate: Estimate | None, minutes: float, units: int) -> float:
    """The probability that a line's units are still there after `minutes` of outside sales:
    P(D <= `units`), `units` being the free units less the line's quantity (the room outside
    sales have before they reach the line's units).

    1 when nothing is known of the variant's sales (no estimate), 0 when `units` is negative (the
    line asks for more than is free). Monotone: more room or a shorter horizon never make it less.
    """
    if units < 0:
        return 0.0
    if estimate is None:
        return 1.0
    return min(1.0, max(0.0, nb_cdf(units, estimate.shape, estimate.exposure, minutes)))


def depletion_quantile(estimate: Estimate, minutes: float, probability: float, *, cap: int) -> int:
    """The fewest units d such that outside sales over `minutes` are at most d with `probability`,
    never more than `cap` (the units there are to lose) and never negative.

    Monotone in `minutes` and `probability`: a longer horizon or a surer answer never takes fewer.
    """
    if cap <= 0 or minutes <= 0 or estimate.shape <= 0 or probability <= 0:
        return 0
    p = estimate.exposure / (estimate.exposure + minutes)
    mean, sd = _moments(estimate.shape, estimate.exposure, minutes)
    start = max(0, int(mean - 12 * sd))
    total = 0.0
    for d in range(start, cap):
        total += math.exp(_log_pmf(d, estimate.shape, p))
        if total >= probability:
            return d
    return cap


def risk_quantile(*, cancellation_cost: float, margin: float | None) -> float:
    """The probability at which the last unit offered must still be there.

    The unit offered last is sold only if outside sales leave it: offering it earns `margin` with
    probability P(D <= d) and costs `cancellation_cost` otherwise; it is worth offering while
    P(D <= d) >= cost / (cost + margin).
    """
    if margin is None or margin <= 0:
        return DEFAULT_RISK_QUANTILE if margin is None else 1.0
    if cancellation_cost <= 0:
        return 0.0
    return cancellation_cost / (cancellation_cost + margin)


def offered(
    free: int, estimate: Estimate | None, *, horizon_minutes: float, probability: float
) -> tuple[int, int]:
    """The units a source offers out of `free` (count less committed less buffer) and the predicted
    depletion taken off: (offered, predicted_depletion)."""
    if free <= 0 or estimate is None:
        return max(0, free), 0
    taken = depletion_quantile(estimate, horizon_minutes, probability, cap=free)
    return free - taken, taken
