"""The catalog file reader and the held-rows writer, checked on generated input (hypothesis)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import io

from hypothesis import given
from hypothesis import strategies as st

from network.catalog.skus import normal_sku
from network.errors import InvalidFeed
from network.feeds.jumps import HELD_FORMAT, _csv
from network.feeds.parsing import parse_feed
from network.products.guards import price_slip
from network.products.imports import CatalogSettings, parse_decimal, read_rows
from network.stock.rows import FeedRow

SETTINGS = CatalogSettings(mapping={"sku": "sku", "title": "title", "cost": "cost", "image_urls": "images"})
AMOUNTS = st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False, allow_infinity=False)
SKUS = st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=20)
TITLES = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=40)


@given(AMOUNTS, st.sampled_from(["", "$", "€", "£"]))
def test_an_amount_reads_back_as_written(amount, symbol):
    assert parse_decimal(f"{symbol}{amount}") == amount


@given(st.text(max_size=30))
def test_any_text_is_an_amount_or_none_never_an_error(text):
    value = parse_decimal(text)
    assert value is None or (isinstance(value, decimal.Decimal) and value.is_finite())


@given(st.lists(st.tuples(SKUS, TITLES, AMOUNTS), max_size=15, unique_by=lambda r: normal_sku(r[0])))
def test_rows_written_as_csv_read_back_with_their_values(rows):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["sku", "title", "cost", "images", "color"])
    for sku, title, cost in rows:
        writer.writerow(
            [sku, title, str(cost), "https://img.example.com/a.jpg|https://img.example.com/b.jpg", "red"]
        )
    good, errors, seen = read_rows(text.getvalue().encode(), SETTINGS)
    assert seen == len(rows)
    by_sku = {row.sku: row for row in good}
    for raw, title, cost in rows:
        sku = normal_sku(raw)  # stored and looked up in NFC
        if sku not in by_sku:  # refused only for a reason it names
            assert any(e.sku == sku for e in errors)
            continue
        row = by_sku[sku]
        assert row.values["cost"] == cost
        assert row.values.get("title", "") == title.strip()
        assert row.values["image_urls"] == ["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"]
        assert row.attributes == {"color": "red"}


@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_as_a_feed_problem(data):
    with contextlib.suppress(InvalidFeed):
        read_rows(data, SETTINGS)


@given(
    st.lists(
        st.builds(
            FeedRow,
            line=st.just(0),
            sku=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12),
            quantity=st.integers(0, 10**9),
            damaged=st.none() | st.integers(0, 1000),
            incoming=st.none() | st.integers(0, 1000),
            incoming_eta=st.none() | st.dates(dt.date(2020, 1, 1), dt.date(2040, 1, 1)),
        ),
        min_size=1,
        max_size=10,
        unique_by=lambda row: row.sku.casefold(),
    )
)
def test_held_rows_written_by_the_guard_read_back_as_the_same_counts(rows):
    parsed = parse_feed(_csv(rows), HELD_FORMAT)
    assert parsed.errors == []
    got = {row.sku: (row.quantity, row.damaged, row.incoming, row.incoming_eta) for row in parsed.rows}
    assert got == {row.sku: (row.quantity, row.damaged, row.incoming, row.incoming_eta) for row in rows}


@given(AMOUNTS, AMOUNTS, st.floats(0.01, 100, allow_nan=False))
def test_a_price_slip_is_a_move_beyond_the_share_of_the_old_price(before, after, share):
    slipped = price_slip(before, after, share)
    if before == 0:
        assert not slipped  # nothing to compare a first real price with
    else:
        assert slipped == (abs(after - before) > decimal.Decimal(str(share)) * before)
    if after == before:
        assert not slipped
