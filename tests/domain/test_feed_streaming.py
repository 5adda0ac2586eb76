"""A feed parsed as a stream (rows handed to a sink a chunk at a time) reads exactly as a feed parsed
whole: the same rows in the same order, the same errors, the same count of records seen."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from network.feeds import mapping
from network.feeds.parsing import FeedFormat, parse_feed, parse_records

SKUS = st.sampled_from(["A", "B", "C", "D", "E", "F", " ", "a\u0000b"])
CELLS = st.sampled_from(["0", "1", "7", "12", "-1", "2.5", "x", "", "1000000000000"])
RECORDS = st.lists(st.tuples(SKUS, CELLS, CELLS), max_size=14)


def _streamed(parse, *args, **kwargs):
    chunks: list[list] = []
    parsed = parse(*args, **kwargs, sink=lambda rows: chunks.append(list(rows)))
    return parsed, [row for chunk in chunks for row in chunk], chunks


@given(records=RECORDS, sum_duplicates=st.booleans(), chunk=st.integers(min_value=1, max_value=4))
def test_a_csv_feed_streamed_in_chunks_reads_as_the_whole_file(records, sum_duplicates, chunk):
    data = ("sku,quantity,damaged\n" + "".join(f"{s},{q},{d}\n" for s, q, d in records)).encode()
    fmt = FeedFormat(sum_duplicates=sum_duplicates)
    whole = parse_feed(data, fmt)
    saved, mapping.SINK_CHUNK = mapping.SINK_CHUNK, chunk
    try:
        streamed, rows, chunks = _streamed(parse_feed, data, fmt)
    finally:
        mapping.SINK_CHUNK = saved

    assert rows == whole.rows
    assert streamed.rows == []
    assert streamed.errors == whole.errors
    assert streamed.rows_seen == whole.rows_seen
    assert all(0 < len(c) <= chunk for c in chunks)


@given(records=RECORDS, sum_duplicates=st.booleans())
def test_json_records_streamed_read_as_the_whole_document(records, sum_duplicates):
    objects = [{"sku": s, "quantity": q, "damaged": d} for s, q, d in records]
    fmt = FeedFormat(kind="json", sum_duplicates=sum_duplicates)
    whole = parse_feed(json.dumps(objects).encode(), fmt)
    streamed, rows, _ = _streamed(parse_feed, json.dumps(objects).encode(), fmt)
    pushed, pushed_rows, _ = _streamed(parse_records, objects, fmt)

    assert rows == pushed_rows == whole.rows
    assert streamed.errors == pushed.errors == whole.errors
    assert streamed.rows_seen == pushed.rows_seen == whole.rows_seen
