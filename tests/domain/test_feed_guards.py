"""The broken-export guard: which full feeds are held for the vendor, and which go through."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from network.feeds.guards import hold_for
from network.feeds.models import HOLD_MASS_ZERO, HOLD_SHRUNK
from network.stock.snapshot import SnapshotPlan


def plan(*, positive_before: int, zeroed: int) -> SnapshotPlan:
    return SnapshotPlan(positive_before=positive_before, zeroed=zeroed)


def test_a_full_feed_zeroing_most_of_the_stocked_skus_is_held():
    hold = hold_for(plan(positive_before=10, zeroed=6), full=True, rows_seen=10, last_good_rows_seen=10)

    assert hold is not None and hold.reason == HOLD_MASS_ZERO
    assert "6 of the 10 SKUs in stock (60%)" in hold.message


def test_zeroing_exactly_the_allowed_share_goes_through():
    assert (
        hold_for(plan(positive_before=10, zeroed=5), full=True, rows_seen=10, last_good_rows_seen=10) is None
    )


def test_the_share_is_a_setting():
    strict = hold_for(
        plan(positive_before=10, zeroed=2), full=True, rows_seen=10, last_good_rows_seen=10, share=0.1
    )
    lenient = hold_for(
        plan(positive_before=10, zeroed=9), full=True, rows_seen=10, last_good_rows_seen=10, share=0.95
    )

    assert strict is not None and strict.reason == HOLD_MASS_ZERO
    assert lenient is None


def test_a_file_less_than_half_the_last_good_one_is_held_even_if_it_zeroes_little():
    hold = hold_for(plan(positive_before=100, zeroed=0), full=True, rows_seen=49, last_good_rows_seen=100)

    assert hold is not None and hold.reason == HOLD_SHRUNK
    assert "49 records, less than half of the 100" in hold.message


def test_half_the_size_of_the_last_good_file_goes_through():
    assert (
        hold_for(plan(positive_before=100, zeroed=0), full=True, rows_seen=50, last_good_rows_seen=100)
        is None
    )


def test_the_first_feed_and_an_empty_catalog_are_never_held():
    assert (
        hold_for(plan(positive_before=0, zeroed=0), full=True, rows_seen=0, last_good_rows_seen=None) is None
    )


def test_a_delta_feed_is_never_held():
    assert (
        hold_for(plan(positive_before=10, zeroed=10), full=False, rows_seen=1, last_good_rows_seen=1000)
        is None
    )


counts = st.integers(min_value=0, max_value=10_000)


@given(
    positive=counts,
    zeroed_share=st.floats(0, 1),
    rows=counts,
    last=st.none() | counts,
    share=st.floats(0, 1),
)
def test_held_exactly_when_a_limit_is_crossed(positive, zeroed_share, rows, last, share):
    zeroed = int(positive * zeroed_share)

    hold = hold_for(
        plan(positive_before=positive, zeroed=zeroed),
        full=True,
        rows_seen=rows,
        last_good_rows_seen=last,
        share=share,
    )

    mass_zero = positive > 0 and zeroed > share * positive
    shrunk = bool(last) and rows * 2 < last
    assert (hold is not None) == (mass_zero or shrunk)
    if mass_zero:
        assert hold.reason == HOLD_MASS_ZERO
    elif shrunk:
        assert hold.reason == HOLD_SHRUNK


@given(positive=st.integers(1, 10_000), zeroed=counts, more=st.integers(0, 100), share=st.floats(0, 1))
def test_zeroing_more_never_lifts_a_hold(positive, zeroed, more, share):
    zeroed = min(zeroed, positive)
    worse = min(zeroed + more, positive)

    before = hold_for(
        plan(positive_before=positive, zeroed=zeroed),
        full=True,
        rows_seen=1,
        last_good_rows_seen=None,
        share=share,
    )
    after = hold_for(
        plan(positive_before=positive, zeroed=worse),
        full=True,
        rows_seen=1,
        last_good_rows_seen=None,
        share=share,
    )

    assert before is None or after is not None
