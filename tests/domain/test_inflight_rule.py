"""The in-flight rule of DESIGN §4: which hub orders a vendor's snapshot already reflects."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from network.stock.rules import (
    InFlightLine,
    committed_units,
    effective_as_of,
    reflected_for_good,
    unreflected_units,
)

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_snapshot_before_ack_still_counts_the_order():
    line = InFlightLine(quantity=2, acknowledged_at=at(30))
    assert unreflected_units(line, basis="available", as_of=at(10)) == 2


def test_snapshot_after_ack_already_excludes_the_order():
    line = InFlightLine(quantity=2, acknowledged_at=at(30))
    assert unreflected_units(line, basis="available", as_of=at(31)) == 0


def test_unacknowledged_order_counts_on_available_basis():
    assert unreflected_units(InFlightLine(quantity=3), basis="available", as_of=at(60)) == 3


def test_on_hand_counts_units_until_they_ship():
    line = InFlightLine(quantity=5, acknowledged_at=at(1), shipments=((at(20), 2), (at(40), 3)))
    assert unreflected_units(line, basis="on_hand", as_of=at(10)) == 5
    assert unreflected_units(line, basis="on_hand", as_of=at(30)) == 3
    assert unreflected_units(line, basis="on_hand", as_of=at(50)) == 0


def test_no_snapshot_yet_counts_everything():
    assert (
        unreflected_units(InFlightLine(quantity=4, acknowledged_at=at(1)), basis="available", as_of=None) == 4
    )


def test_cancelled_line_counts_nothing():
    assert unreflected_units(InFlightLine(quantity=0), basis="on_hand", as_of=None) == 0


def test_effective_as_of_takes_the_later_confirmation():
    assert effective_as_of(at(5), at(10)) == at(10)
    assert effective_as_of(at(15), at(10)) == at(15)
    assert effective_as_of(None, at(10)) == at(10)
    assert effective_as_of(at(5), None) == at(5)
    assert effective_as_of(None, None) is None


lines = st.builds(
    InFlightLine,
    quantity=st.integers(0, 50),
    acknowledged_at=st.one_of(st.none(), st.integers(0, 100).map(at)),
    shipments=st.lists(st.tuples(st.integers(0, 100).map(at), st.integers(1, 5)), max_size=3).map(tuple),
)


@given(st.lists(lines, max_size=8), st.sampled_from(["available", "on_hand"]), st.integers(0, 100))
def test_committed_never_exceeds_live_units_and_never_grows_with_a_later_snapshot(batch, basis, minute):
    earlier = committed_units(batch, basis=basis, as_of=at(minute))
    later = committed_units(batch, basis=basis, as_of=at(minute + 10))
    assert 0 <= later <= earlier <= sum(line.quantity for line in batch)


def test_a_line_the_available_count_reflects_is_not_done_with_until_it_shipped_before_the_count():
    # An on-hand count taken before the shipment still has the units on the shelf.
    line = InFlightLine(quantity=2, acknowledged_at=at(2), shipments=((at(5), 2),))
    assert unreflected_units(line, basis="available", as_of=at(3)) == 0
    assert not reflected_for_good(line, as_of=at(3))
    assert unreflected_units(line, basis="on_hand", as_of=at(4)) == 2
    assert reflected_for_good(line, as_of=at(5))


@given(lines, st.integers(0, 100), st.integers(0, 100), st.sampled_from(["available", "on_hand"]))
def test_a_line_reflected_for_good_counts_under_no_later_snapshot_of_either_basis(line, minute, later, basis):
    if reflected_for_good(line, as_of=at(minute)):
        assert unreflected_units(line, basis=basis, as_of=at(minute + later)) == 0
