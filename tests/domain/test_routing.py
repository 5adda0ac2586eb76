"""The router's choice of sources (DESIGN §7): pure, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from network.availability.depletion import Estimate
from network.orders.routing import (
    Candidate,
    LineRequest,
    ShipRisk,
    allocate_line,
    allocate_order,
    ship_probability,
)


def source(
    variant_id: int,
    *,
    vendor: int | None = None,
    routing: int = 100,
    available: int = 10,
    cost="10",
    priority=0,
):
    return Candidate(
        variant_id=variant_id,
        vendor_id=vendor or variant_id,
        routing_priority=routing,
        item_priority=priority,
        available=available,
        cost=None if cost is None else Decimal(cost),
    )


def test_lower_routing_priority_wins_over_more_units_and_lower_cost():
    chosen = allocate_line(
        2, [source(1, routing=5, available=3, cost="20"), source(2, routing=1, available=2)], allow_split=True
    )
    assert [(a.variant_id, a.quantity) for a in chosen] == [(2, 2)]


def test_among_equal_priorities_the_source_with_most_units_wins():
    chosen = allocate_line(2, [source(1, available=3), source(2, available=9, cost="99")], allow_split=True)
    assert [(a.variant_id, a.quantity) for a in chosen] == [(2, 2)]


def test_among_equal_units_the_cheapest_wins_and_unknown_cost_comes_last():
    chosen = allocate_line(
        1, [source(1, cost=None), source(2, cost="12"), source(3, cost="11")], allow_split=True
    )
    assert chosen[0].variant_id == 3


def test_split_fills_a_line_from_several_vendors_only_when_allowed():
    candidates = [source(1, available=3), source(2, available=2)]
    split = allocate_line(5, candidates, allow_split=True)
    assert [(a.variant_id, a.quantity) for a in split] == [(1, 3), (2, 2)]
    whole = allocate_line(5, candidates, allow_split=False)
    assert sum(a.quantity for a in whole) == 3  # one source only: short by two


def test_without_split_the_first_source_that_can_fill_the_line_is_taken():
    chosen = allocate_line(
        4, [source(1, routing=1, available=3), source(2, routing=2, available=4)], allow_split=False
    )
    assert [(a.variant_id, a.quantity) for a in chosen] == [(2, 4)]


def test_sources_without_units_are_never_chosen():
    assert allocate_line(1, [source(1, available=0)], allow_split=True) == []


def test_lines_drawing_on_one_variant_share_its_units():
    shared = [source(7, available=3)]
    plan = allocate_order([LineRequest(2, shared), LineRequest(2, shared)], allow_split=True)
    assert [sum(a.quantity for a in line) for line in plan] == [2, 1]


candidate_lists = st.lists(
    st.builds(
        source,
        st.integers(1, 6),
        routing=st.integers(0, 3),
        available=st.integers(0, 20),
        cost=st.sampled_from(["1", "2", "3", None]),
        priority=st.integers(0, 3),
    ),
    max_size=6,
    unique_by=lambda c: c.variant_id,
)


@st.composite
def orders(draw):
    """A shared pool of variants and lines that each draw on some of them."""
    pool = {v: draw(st.integers(0, 12)) for v in range(1, draw(st.integers(1, 5)) + 1)}
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        variants = draw(st.lists(st.sampled_from(sorted(pool)), unique=True, max_size=len(pool)))
        cands = [source(v, routing=v % 2, available=pool[v], cost=str(v)) for v in variants]
        lines.append(LineRequest(draw(st.integers(1, 15)), cands))
    return pool, lines


@given(order=orders(), allow_split=st.booleans())
def test_an_order_never_takes_more_than_a_variant_holds_nor_more_than_a_line_asks(order, allow_split):
    pool, lines = order
    plan = allocate_order(lines, allow_split=allow_split)
    taken: dict[int, int] = {}
    for line, allocations in zip(lines, plan, strict=True):
        assert sum(a.quantity for a in allocations) <= line.quantity
        assert all(a.quantity > 0 for a in allocations)
        assert allow_split or len(allocations) <= 1
        for a in allocations:
            taken[a.variant_id] = taken.get(a.variant_id, 0) + a.quantity
    assert all(units <= pool[variant_id] for variant_id, units in taken.items())


@given(quantity=st.integers(1, 30), candidates=candidate_lists)
def test_with_splits_a_line_is_filled_whenever_its_sources_hold_enough(quantity, candidates):
    filled = sum(a.quantity for a in allocate_line(quantity, candidates, allow_split=True))
    assert filled == min(quantity, sum(c.available for c in candidates))


# --- routing by risk (issue 18): candidates with a `risk` (a retailer on the predictive model) ---

SELLS_12_AN_HOUR = Estimate(12.0 * 24, 24 * 60.0, dt.datetime(2026, 1, 5, tzinfo=dt.UTC))


def risky(variant_id: int, *, available: int, estimate=None, horizon=0.0, fill=1.0, **extra):
    return dataclasses.replace(
        source(variant_id, available=available, **extra), risk=ShipRisk(estimate, horizon, fill)
    )


def test_the_likelier_source_wins_over_more_units():
    # 40 counted four hours before the import of a seller of twelve an hour, against 8 that never sell.
    aging = risky(1, available=40, estimate=SELLS_12_AN_HOUR, horizon=240)
    quiet = risky(2, available=8)
    assert [a.variant_id for a in allocate_line(2, [aging, quiet], allow_split=True)] == [2]
    # Without the risk (the fixed model), the most units, as before.
    plain = [source(1, available=40), source(2, available=8)]
    assert [a.variant_id for a in allocate_line(2, plain, allow_split=True)] == [1]


def test_a_fresh_count_and_headroom_make_a_source_likelier():
    fresh = risky(1, available=40, estimate=SELLS_12_AN_HOUR, horizon=30)
    aged = risky(2, available=60, estimate=SELLS_12_AN_HOUR, horizon=400)
    assert allocate_line(2, [aged, fresh], allow_split=False)[0].variant_id == 1
    assert ship_probability(fresh.risk, free=40, quantity=2) > ship_probability(
        aged.risk, free=60, quantity=2
    )


def test_the_vendors_fill_rate_weighs_in_and_ties_keep_todays_order():
    reliable = risky(1, available=5, fill=0.99)
    refuses = risky(2, available=9, fill=0.8)
    assert allocate_line(1, [refuses, reliable], allow_split=True)[0].variant_id == 1
    # Sure sources filling alike: a tie, the most units win as before; then routing priority first.
    assert (
        allocate_line(1, [risky(1, available=5), risky(2, available=9)], allow_split=True)[0].variant_id == 2
    )
    first = risky(1, available=5, fill=0.5, routing=1)
    assert allocate_line(1, [first, risky(2, available=9)], allow_split=True)[0].variant_id == 1
