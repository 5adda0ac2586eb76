"""The depletion model's arithmetic (network/availability/depletion.py): properties, not examples."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.availability import depletion as d

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
rates = st.floats(min_value=0.0, max_value=2.0)  # outside sales per minute
shapes = st.floats(min_value=0.01, max_value=500.0)
exposures = st.floats(min_value=1.0, max_value=20_000.0)
horizons = st.floats(min_value=0.0, max_value=3 * 24 * 60.0)
probabilities = st.floats(min_value=0.01, max_value=0.99)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (sums of exponential gaps), fine for the means these tests use."""
    count, t = 0, rng.expovariate(1.0)
    while t < mean:
        count += 1
        t += rng.expovariate(1.0)
    return count


def run(
    rng: random.Random, rate_at, *, intervals: int, minutes: float, prior_rate: float
) -> list[d.Estimate]:
    estimate = d.prior(prior_rate, T0)
    seen = []
    for i in range(intervals):
        start = T0 + dt.timedelta(minutes=i * minutes)
        end = start + dt.timedelta(minutes=minutes)
        estimate = d.observe(
            estimate, prior_rate=prior_rate, start=start, end=end, sales=poisson(rng, rate_at(i) * minutes)
        )
        seen.append(estimate)
    return seen


@settings(deadline=None)  # arithmetic only, but the machine is shared
@given(
    shape=shapes,
    exposure=exposures,
    prior_rate=rates,
    steps=st.lists(
        st.tuples(st.floats(min_value=0, max_value=5000), st.one_of(st.none(), st.integers(0, 500))),
        max_size=20,
    ),
)
def test_an_estimate_is_never_negative_whatever_it_learns(shape, exposure, prior_rate, steps):
    estimate = d.Estimate(shape, exposure, T0)
    at = T0
    for minutes, sales in steps:
        end = at + dt.timedelta(minutes=minutes)
        estimate = d.observe(estimate, prior_rate=prior_rate, start=at, end=end, sales=sales)
        at = end
        assert estimate.shape >= 0 and estimate.exposure > 0 and estimate.rate >= 0
        assert math.isfinite(estimate.rate)
        assert estimate.at == at or minutes == 0


@settings(deadline=None)  # arithmetic only, but the machine is shared
@given(shape=shapes, exposure=exposures, a=horizons, b=horizons, p=probabilities, cap=st.integers(0, 400))
def test_the_units_taken_grow_with_the_horizon_and_stay_between_zero_and_the_cap(
    shape, exposure, a, b, p, cap
):
    estimate = d.Estimate(shape, exposure, T0)
    short, long = sorted((a, b))
    taken_short = d.depletion_quantile(estimate, short, p, cap=cap)
    taken_long = d.depletion_quantile(estimate, long, p, cap=cap)
    assert 0 <= taken_short <= taken_long <= max(cap, 0)


@settings(deadline=None)  # arithmetic only, but the machine is shared
@given(shape=shapes, exposure=exposures, minutes=horizons, a=probabilities, b=probabilities)
def test_a_surer_answer_never_takes_fewer_units(shape, exposure, minutes, a, b):
    estimate = d.Estimate(shape, exposure, T0)
    low, high = sorted((a, b))
    assert d.depletion_quantile(estimate, minutes, low, cap=10_000) <= d.depletion_quantile(
        estimate, minutes, high, cap=10_000
    )


@settings(deadline=None)  # arithmetic only, but the machine is shared
@given(
    shape=st.floats(min_value=0.05, max_value=30.0),
    exposure=exposures,
    minutes=st.floats(min_value=1.0, max_value=2000.0),
    k=st.integers(0, 60),
)
def test_the_predictive_distribution_is_the_gamma_poisson_mixture(shape, exposure, minutes, k):
    # P(X = j) of the negative binomial, term by term from P(X = 0), against the library's sum.
    p = exposure / (exposure + minutes)
    term, total = p**shape, 0.0
    for j in range(k + 1):
        total += term
        term *= (shape + j) / (j + 1) * (1 - p)
    assert math.isclose(d.nb_cdf(k, shape, exposure, minutes), min(total, 1.0), rel_tol=1e-6, abs_tol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    rate=st.floats(min_value=0.002, max_value=0.5),
    prior_off=st.floats(min_value=1 / 20, max_value=20),
    seed=st.integers(0, 2**32),
)
def test_it_converges_to_the_true_rate_on_poisson_data(rate, prior_off, seed):
    # Two weeks of hourly counts of a steady seller, starting from its siblings' pace, which may be
    # twenty times too slow or too fast.
    seen = run(
        random.Random(seed), lambda _: rate, intervals=14 * 24, minutes=60, prior_rate=rate * prior_off
    )
    # Three days of half-life give about 6,000 minutes of evidence: the mean within a few sd.
    sd = math.sqrt(rate / 6000)
    assert abs(seen[-1].rate - rate) <= 5 * sd + 0.05 * rate


@settings(max_examples=30, deadline=None)
@given(rate=st.floats(min_value=0.01, max_value=0.2), seed=st.integers(0, 2**32))
def test_a_spike_is_followed_within_two_counts_and_its_end_within_half_a_day(rate, seed):
    # A week at the usual pace, then outside sales twenty times as fast for a day (the seed's
    # promotion), then the usual pace again; counts every hour.
    def pace(i: int) -> float:
        return rate * 20 if 7 * 24 <= i < 8 * 24 else rate

    seen = run(random.Random(seed), pace, intervals=9 * 24, minutes=60, prior_rate=rate)
    before, second_hour, after = seen[7 * 24 - 1], seen[7 * 24 + 1], seen[8 * 24 + 11]
    assert second_hour.rate >= 5 * before.rate
    assert after.rate <= 3 * rate


@settings(max_examples=30, deadline=None)
@given(rate=st.floats(min_value=0.02, max_value=0.5), seed=st.integers(0, 2**32))
def test_it_stays_quiet_on_noise(rate, seed):
    # A steady seller: once it has a day of evidence, no hourly count moves the estimate far.
    seen = run(random.Random(seed), lambda _: rate, intervals=10 * 24, minutes=60, prior_rate=rate)
    assert all(rate / 2 <= e.rate <= 2 * rate for e in seen[24:])


def test_a_restock_teaches_no_sales_only_lets_the_past_fade():
    estimate = d.Estimate(60.0, 600.0, T0)  # 0.1 a minute
    later = T0 + dt.timedelta(days=6)
    faded = d.observe(estimate, prior_rate=0.01, start=T0, end=later, sales=None)
    assert faded.at == later
    assert 0.01 < faded.rate < 0.1  # between the variant's own pace and its siblings'
    assert faded.exposure < estimate.exposure + d.PRIOR_EXPOSURE_MINUTES  # it learned no exposure


def test_a_long_quiet_count_brings_a_cold_start_down():
    # Its siblings sell 0.05 a minute; this variant did not move for two days.
    start = d.prior(0.05, T0)
    quiet = d.quiet_until(start, prior_rate=0.05, at=T0 + dt.timedelta(days=2))
    assert quiet.rate < 0.05 / 10


@settings(deadline=None)  # arithmetic only, but the machine is shared
@given(shape=shapes, exposure=exposures, free=st.integers(-5, 300), minutes=horizons, p=probabilities)
def test_a_source_offers_between_nothing_and_its_free_units(shape, exposure, free, minutes, p):
    offered, taken = d.offered(free, d.Estimate(shape, exposure, T0), horizon_minutes=minutes, probability=p)
    assert 0 <= offered <= max(free, 0)
    assert offered + taken == max(free, 0)


def test_slow_items_and_fresh_counts_keep_their_full_figure():
    slow = d.Estimate(1.0, 10_000.0, T0)  # one sale a week
    fast = d.Estimate(100.0, 1000.0, T0)  # six an hour
    p = d.risk_quantile(cancellation_cost=100.0, margin=22.0)
    assert d.offered(5, slow, horizon_minutes=120, probability=p) == (5, 0)
    assert d.offered(5, fast, horizon_minutes=0, probability=p) == (5, 0)
    offered, taken = d.offered(30, fast, horizon_minutes=120, probability=p)
    assert 12 <= taken <= 20 and offered == 30 - taken  # a mean of 12 in two hours, and some margin


def test_the_risk_quantile_balances_a_cancellation_against_the_margin():
    assert d.risk_quantile(cancellation_cost=100.0, margin=25.0) == 0.8
    assert d.risk_quantile(cancellation_cost=100.0, margin=None) == d.DEFAULT_RISK_QUANTILE
    assert d.risk_quantile(cancellation_cost=0.0, margin=25.0) == 0.0  # nothing to fear: offer all


@settings(deadline=None)
@given(
    shape=shapes,
    exposure=exposures,
    a=horizons,
    b=horizons,
    free_a=st.integers(-5, 400),
    free_b=st.integers(-5, 400),
    quantity=st.integers(1, 20),
)
def test_the_chance_a_lines_units_are_still_there_is_a_probability_monotone_in_free_units_and_horizon(
    shape, exposure, a, b, free_a, free_b, quantity
):
    estimate = d.Estimate(shape, exposure, T0)
    for free, minutes in ((free_a, a), (free_b, b), (free_a, b)):
        p = d.still_there(estimate, minutes, free - quantity)
        assert 0.0 <= p <= 1.0
    (short_h, long_h), (few, many) = sorted((a, b)), sorted((free_a, free_b))
    # More free units never make the line less likely to be served, a longer horizon never more.
    assert d.still_there(estimate, a, many - quantity) >= d.still_there(estimate, a, few - quantity) - 1e-12
    assert (
        d.still_there(estimate, short_h, free_a - quantity)
        >= d.still_there(estimate, long_h, free_a - quantity) - 1e-9
    )
    assert d.still_there(estimate, a, quantity - 1 - quantity) == 0.0  # more asked than free
    assert d.still_there(None, a, free_a) == (0.0 if free_a < 0 else 1.0)  # nothing learned: sure


def test_the_chance_matches_the_negative_binomial_and_a_fresh_count_is_surer():
    estimate = d.Estimate(12.0, 60.0, T0)  # twelve an hour, as sure as an hour of counts
    # P(D <= 9) over an hour, against the mixture's own sum.
    assert d.still_there(estimate, 60, 9) == pytest.approx(d.nb_cdf(9, 12.0, 60.0, 60))
    assert d.still_there(estimate, 10, 9) > 0.99 > 0.5 > d.still_there(estimate, 120, 9)
