"""The pure flag rules: shortfall allotted newest first, deadlines, what clears a flag, the figures."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from network.flags.rules import (
    LineClock,
    LineFacts,
    LineNeed,
    allot_shortfall,
    clearing,
    due_kinds,
    flag_stats,
    lead_time,
)

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def need(line_id: int, counted: int, unshipped: int | None = None) -> LineNeed:
    return LineNeed(line_id, counted=counted, unshipped=counted if unshipped is None else unshipped)


def test_the_newest_lines_take_the_shortfall():
    # Lines 3 (newest), 2, 1 of 2 units each; the count covers 3 of the 6.
    assert allot_shortfall([need(3, 2), need(2, 2), need(1, 2)], 3) == {3: 2, 2: 1}


def test_a_count_that_covers_every_line_leaves_none_short():
    assert allot_shortfall([need(2, 2), need(1, 2)], 4) == {}
    assert allot_shortfall([], 0) == {}


def test_shipped_units_cannot_go_short_the_next_line_takes_it():
    # The newest line's 2 units already left the shelf after the count: the older line is short.
    assert allot_shortfall([need(2, 2, unshipped=0), need(1, 3)], 3) == {1: 2}


def test_a_negative_count_counts_as_zero():
    assert allot_shortfall([need(1, 2)], -5) == {1: 2}


lines_strategy = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 20)).map(lambda t: (t[0], min(t[0], t[1]))),
    max_size=12,
)


@given(lines_strategy, st.integers(-5, 200))
def test_the_allotment_is_exactly_the_shortfall_taken_from_the_newest_first(lines, sellable):
    needs = [LineNeed(i, counted=c, unshipped=u) for i, (c, u) in enumerate(lines)]  # index 0 = newest
    short = allot_shortfall(needs, sellable)
    shortfall = max(0, sum(c for c, _ in lines) - max(0, sellable))
    at_risk = sum(u for _, u in lines)
    assert sum(short.values()) == min(shortfall, at_risk)
    for i, (_, unshipped) in enumerate(lines):
        assert 0 <= short.get(i, 0) <= unshipped
    # Newest first: once a line keeps some of its units, every older line keeps all of them.
    partial = [i for i, (_, u) in enumerate(lines) if short.get(i, 0) < u]
    if partial:
        assert all(short.get(i, 0) == 0 for i in range(partial[0] + 1, len(lines)))


def clock(**overrides) -> LineClock:
    values = {
        "placed_at": NOW - dt.timedelta(hours=1),
        "acknowledged": False,
        "ack_sla": dt.timedelta(hours=24),
        "ship_sla": dt.timedelta(hours=72),
        "as_of": NOW - dt.timedelta(minutes=5),
        "stale_after": dt.timedelta(hours=24),
    }
    return LineClock(**{**values, **overrides})


def test_deadlines_pass_only_after_their_sla():
    assert due_kinds(clock(), NOW) == frozenset()
    assert due_kinds(clock(placed_at=NOW - dt.timedelta(hours=25)), NOW) == {"ack_overdue"}
    assert due_kinds(clock(placed_at=NOW - dt.timedelta(hours=25), acknowledged=True), NOW) == frozenset()
    late = clock(placed_at=NOW - dt.timedelta(hours=73), acknowledged=True)
    assert due_kinds(late, NOW) == {"ship_overdue"}
    assert due_kinds(clock(as_of=NOW - dt.timedelta(hours=25)), NOW) == {"stale_feed"}
    assert due_kinds(clock(placed_at=NOW - dt.timedelta(hours=24)), NOW) == frozenset()  # exactly on time


def test_what_clears_a_flag():
    open_line = LineFacts(status="open", unshipped=2, acknowledged=False)
    assert clearing("ack_overdue", open_line) is None
    assert clearing("ack_overdue", LineFacts("acknowledged", 2, True)) == "acknowledged"
    assert clearing("ship_overdue", LineFacts("shipped", 0, True)) == "shipped"
    assert clearing("shortfall", LineFacts("cancelled", 0, False)) == "cancelled"
    assert clearing("stale_feed", open_line, due=frozenset()) == "feed_fresh"
    assert clearing("ack_overdue", open_line, due=frozenset()) == "deadline_moved"
    # A refusal is a fact: no state of the line clears it.
    assert clearing("vendor_rejected", LineFacts("rejected", 0, False)) is None


def test_lead_time_counts_from_the_earliest_warning_before_the_cancellation():
    warnings = [NOW - dt.timedelta(hours=2), NOW - dt.timedelta(minutes=30), NOW + dt.timedelta(minutes=1)]
    assert lead_time(warnings, NOW) == 7200
    assert lead_time([], NOW) is None
    assert lead_time([NOW + dt.timedelta(seconds=1)], NOW) is None


def test_stats_of_a_history():
    stats = flag_stats([100, None, 300, 500, None])
    assert (stats.cancellations, stats.flagged_first) == (5, 3)
    assert stats.share_flagged_first == 0.6
    assert stats.median_lead_time_seconds == 300
    empty = flag_stats([])
    assert (empty.cancellations, empty.share_flagged_first, empty.median_lead_time_seconds) == (0, None, None)
