"""The scorecard arithmetic on hand-made lines, and its invariants under hypothesis."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from network.console_views.scorecards import LineFacts, flagged_first, score

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def hours(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def line(ordered, *, shipped=0, refused=0, live=None, ack=None, shipped_at=None) -> LineFacts:
    return LineFacts(
        placed_at=T0,
        ordered=ordered,
        shipped=shipped,
        refused=refused,
        live=ordered - refused if live is None else live,
        acknowledged_at=None if ack is None else hours(ack),
        last_shipped_at=None if shipped_at is None else hours(shipped_at),
    )


def test_hand_computed_figures():
    lines = [
        line(5, shipped=5, ack=1, shipped_at=20),  # on time both ways
        line(3, shipped=3, ack=30, shipped_at=80),  # late both ways
        line(2, refused=2),  # the vendor refused it all: nothing to acknowledge or ship
        line(4, shipped=1, ack=3, shipped_at=10),  # partly shipped, ship deadline passed: late
        line(6, live=0),  # the retailer cancelled it: not the vendor's refusal
        line(1),  # never answered, 100 h on: late on both
    ]
    result = score(lines, ack_sla_hours=24, ship_sla_hours=72, now=hours(100))
    assert (result.units_ordered, result.units_shipped) == (21, 9)
    assert result.fill_rate == 9 / 21
    assert result.cancel_rate == 2 / 21
    assert result.on_time_ack == 2 / 4  # acked at 1 and 3 on time; 30 late; the silent line late
    assert result.median_ack_hours == 3
    assert result.on_time_ship == 1 / 4  # 20 on time; 80, the partial and the silent line late
    assert result.median_ship_hours == 50  # fully shipped lines only: 20 and 80


def test_nothing_due_yet_is_none_not_zero():
    result = score([line(2)], ack_sla_hours=24, ship_sla_hours=72, now=hours(1))
    assert (result.on_time_ack, result.on_time_ship, result.median_ack_hours) == (None, None, None)
    assert result.fill_rate == 0
    assert score([], ack_sla_hours=24, ship_sla_hours=72, now=T0).fill_rate is None


def test_flagged_first_share():
    assert flagged_first([60, None, 3600, None]) == 0.5
    assert flagged_first([]) is None


facts = st.builds(
    lambda ordered, shipped_part, refused_part, ack, ship: line(
        ordered,
        shipped=min(shipped_part, ordered),
        refused=min(refused_part, ordered - min(shipped_part, ordered)),
        ack=ack,
        shipped_at=ship if shipped_part else None,
    ),
    st.integers(1, 50),
    st.integers(0, 50),
    st.integers(0, 50),
    st.none() | st.floats(0, 200),
    st.floats(0, 200),
)


@given(st.lists(facts, max_size=20), st.integers(1, 100), st.integers(1, 200), st.floats(0, 400))
def test_every_share_is_a_share(lines, ack_sla, ship_sla, now):
    result = score(lines, ack_sla_hours=ack_sla, ship_sla_hours=ship_sla, now=hours(now))
    for share in (result.fill_rate, result.cancel_rate, result.on_time_ack, result.on_time_ship):
        assert share is None or 0 <= share <= 1
    assert (result.fill_rate is None) == (not lines)
