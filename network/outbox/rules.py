"""Pure webhook rules: who hears an event, what figure a channel sees, when to try again."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

FIRST_RETRY = dt.timedelta(seconds=10)
MAX_RETRY = dt.timedelta(hours=1)


def subscribes(patterns: Sequence[str], event_type: str) -> bool:
    """Tell whether an endpoint's event patterns ("*", "area.*" or exact names) take an event type."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def channel_figure(
    available: int, *, buffer: int | None, max_quantity: int | None, automatic: int = 0
) -> int:
    """Return what a channel is told it may sell: its buffer held back, capped at its maximum.

    `buffer` None is automatic (issue 18): `automatic` held back instead, the units outside sales
    will probably take over the channel's update interval on the predictive availability model
    (network/availability/predictive.py channel_depletion; 0 on the fixed model). A buffer set on
    the channel overrides it.
    """
    figure = available - (max(0, automatic) if buffer is None else buffer)
    if max_quantity is not None:
        figure = min(figure, max_quantity)
    return max(0, figure)


def retry_delay(attempts: int, rng: random.Random) -> dt.timedelta:
    """Return the wait after the `attempts`-th failed attempt: doubling from 10 s, capped at 1 h, jittered.

    The jitter (a uniform draw in the upper half of the step) spreads the retries of many
    deliveries that failed together, so a receiver coming back up is not hit all at once.
    """
    step = min(FIRST_RETRY * 2 ** min(max(0, attempts - 1), 20), MAX_RETRY)  # 2**20 steps: long capped
    return step * (0.5 + rng.random() / 2)


def channel_interval_minutes(buffer: int | None, min_interval_seconds: int) -> float:
    """The interval over which a channel's automatic buffer is estimated: its throttle, the time until
    a figure it was pushed can next be corrected (none when its buffer is set: the override holds)."""
    return max(0, min_interval_seconds) / 60 if buffer is None else 0.0


def next_push_at(
    last_push_at: dt.datetime | None, min_interval_seconds: int, now: dt.datetime
) -> dt.datetime:
    """Return the earliest moment a throttled endpoint may be pushed to again."""
    if last_push_at is None or min_interval_seconds <= 0:
        return now
    return max(now, last_push_at + dt.timedelta(seconds=min_interval_seconds))
