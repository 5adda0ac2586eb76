"""Pure webhook rules: subscriptions, channel figures, backoff, throttle."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st

from network.outbox.rules import channel_figure, next_push_at, retry_delay, subscribes


def test_subscriptions_match_exact_names_areas_and_everything():
    assert subscribes(["availability.changed"], "availability.changed")
    assert not subscribes(["availability.changed"], "po.shipped")
    assert subscribes(["po.*"], "po.shipped")
    assert not subscribes(["po.*"], "poll.done")
    assert subscribes(["*"], "order.at_risk")


@given(
    available=st.integers(0, 10**6),
    buffer=st.integers(0, 10**4),
    cap=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_a_channel_never_sees_more_than_the_pool_less_its_buffer_nor_above_its_cap(available, buffer, cap):
    figure = channel_figure(available, buffer=buffer, max_quantity=cap)
    assert 0 <= figure <= max(0, available - buffer)
    if cap is not None:
        assert figure <= cap
    assert figure == max(0, min(available - buffer, cap if cap is not None else available))


@given(attempts=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_retries_back_off_from_ten_seconds_to_an_hour_with_jitter(attempts, seed):
    delay = retry_delay(attempts, random.Random(seed))
    step = min(10 * 2 ** (attempts - 1), 3600)
    assert step / 2 <= delay.total_seconds() <= step


def test_retries_last_at_least_a_day_before_a_delivery_can_die():
    rng = random.Random(1)
    elapsed = dt.timedelta()
    attempts = 0
    while elapsed < dt.timedelta(hours=24):
        attempts += 1
        elapsed += retry_delay(attempts, rng)
    assert attempts > 20  # many tries, not a handful of long waits


def test_a_throttled_endpoint_waits_its_interval_after_the_last_push():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert next_push_at(None, 600, now) == now
    assert next_push_at(now, 600, now + dt.timedelta(seconds=100)) == now + dt.timedelta(seconds=600)
    assert next_push_at(now, 600, now + dt.timedelta(seconds=900)) == now + dt.timedelta(seconds=900)
    assert next_push_at(now, 0, now) == now
