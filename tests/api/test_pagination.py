"""Cursors: the documented pattern admits exactly the cursors the API hands out, and each decodes."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from api_common.pagination import CURSOR_PATTERN, decode_cursor, encode_cursor

CURSOR = re.compile(CURSOR_PATTERN)


@given(st.integers(0, 10**18 - 1))
def test_every_cursor_the_api_gives_matches_the_documented_pattern(position):
    cursor = encode_cursor(position)
    assert CURSOR.fullmatch(cursor)
    assert decode_cursor(cursor, bigint=True) == position
    # Past an integer column's range there is nothing: read as its largest value.
    assert decode_cursor(cursor) == min(position, 2**31 - 1)


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_string_the_pattern_admits_is_a_cursor_the_api_takes(cursor):
    position = decode_cursor(cursor, bigint=True)
    assert 0 <= position < 10**18


def test_a_documented_cursor_is_accepted_and_any_other_string_is_422(network):
    api = network.retailer.api
    # Beyond the id column's range (PostgreSQL refused the comparison: a 500).
    page = api.get(f"/api/v1/items?cursor={encode_cursor(10**17)}")
    assert page.status_code == 200 and page.get_json()["data"] == []
    events = api.get(f"/api/v1/events?cursor={encode_cursor(10**17)}")
    assert events.status_code == 200 and events.get_json()["data"] == []
    response = api.get("/api/v1/items?cursor=cDAw%0A")
    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]
