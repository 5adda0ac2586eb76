"""The availability formula of DESIGN §5, by example and by property."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from network.availability.compute import (
    CONNECTION_INACTIVE,
    ON_HOLD,
    STALE,
    VARIANT_INACTIVE,
    SourceState,
    item_available,
    source_available,
    source_terms,
)

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(hours=24)


def source(**overrides) -> SourceState:
    values = dict(
        quantity=10,
        committed=0,
        safety_buffer=0,
        connection_active=True,
        variant_active=True,
        as_of=NOW - dt.timedelta(minutes=5),
        stale_after=DAY,
    )
    values.update(overrides)
    return SourceState(**values)


def test_fresh_source_offers_quantity_less_committed_and_buffer():
    assert source_available(source(quantity=10, committed=3, safety_buffer=2), NOW) == 5


def test_stale_snapshot_offers_nothing():
    assert source_available(source(as_of=NOW - DAY - dt.timedelta(seconds=1)), NOW) == 0


def test_snapshot_exactly_at_the_limit_still_counts():
    assert source_available(source(as_of=NOW - DAY), NOW) == 10


def test_source_never_reported_offers_nothing():
    assert source_available(source(as_of=None), NOW) == 0


def test_paused_connection_or_inactive_variant_offers_nothing():
    assert source_available(source(connection_active=False), NOW) == 0
    assert source_available(source(variant_active=False), NOW) == 0


def test_held_variant_offers_nothing():
    assert source_available(source(on_hold=True), NOW) == 0


def test_overcommitted_source_is_zero_not_negative():
    assert source_available(source(quantity=2, committed=5), NOW) == 0


def test_item_sums_its_sources():
    assert item_available([source(quantity=4), source(quantity=6, safety_buffer=1)], NOW) == 9


states = st.builds(
    SourceState,
    quantity=st.integers(0, 10**9),
    committed=st.integers(0, 10**9),
    safety_buffer=st.integers(0, 10**6),
    connection_active=st.booleans(),
    variant_active=st.booleans(),
    as_of=st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC))),
    stale_after=st.timedeltas(min_value=dt.timedelta(minutes=1), max_value=dt.timedelta(days=30)),
    on_hold=st.booleans(),
)


@given(states)
def test_source_is_never_negative_nor_above_quantity_less_committed_and_buffer(state):
    available = source_available(state, NOW)
    assert 0 <= available <= max(0, state.quantity - state.committed - state.safety_buffer)


@given(states)
def test_stale_or_inactive_source_is_zero(state):
    stale = state.as_of is None or NOW - state.as_of > state.stale_after
    if stale or not state.connection_active or not state.variant_active or state.on_hold:
        assert source_available(state, NOW) == 0


@given(st.lists(states, max_size=6))
def test_item_is_the_sum_of_its_sources(sources):
    assert item_available(sources, NOW) == sum(source_available(s, NOW) for s in sources)


@given(states, st.integers(0, 10**6))
def test_shared_pool_gives_every_retailer_the_same_units(state, _):
    """Two retailers reading one vendor variant through equal terms see the same figure."""
    assert source_available(state, NOW) == source_available(
        SourceState(**{f: getattr(state, f) for f in state.__dataclass_fields__}), NOW
    )


@given(states)
def test_the_working_names_every_reason_a_source_is_zero_and_only_those(state):
    """What an explanation shows (source_terms) is the formula: each exclusion that holds, all of them."""
    terms = source_terms(state, NOW)
    stale = state.as_of is None or NOW - state.as_of > state.stale_after
    expected = [
        reason
        for reason, holds in (
            (CONNECTION_INACTIVE, not state.connection_active),
            (VARIANT_INACTIVE, not state.variant_active),
            (ON_HOLD, state.on_hold),
            (STALE, stale),
        )
        if holds
    ]
    assert list(terms.excluded_by) == expected and terms.stale == stale
    assert terms.net == state.quantity - state.committed - state.safety_buffer
    assert terms.available == source_available(state, NOW) == (0 if expected else max(0, terms.net))


def test_a_paused_stale_source_gives_both_reasons():
    terms = source_terms(source(connection_active=False, as_of=None), NOW)
    assert (terms.excluded_by, terms.available) == ((CONNECTION_INACTIVE, STALE), 0)
