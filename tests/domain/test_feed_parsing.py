"""CSV and JSON feed parsing: every rule of section 6, one behaviour per test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.catalog.gtin import gtin_check_digit, is_valid_gtin
from network.errors import InvalidFeed
from network.feeds.mapping import parse_gtin
from network.feeds.parsing import FeedFormat, FeedRow, ParsedFeed, RowError, parse_feed, parse_records

UTC = dt.UTC
JSON = FeedFormat(kind="json")


def csv_feed(text: str, **fmt: object) -> ParsedFeed:
    """Parse CSV text with the given format options."""
    return parse_feed(text.encode(), FeedFormat(**fmt))  # type: ignore[arg-type]


def json_feed(document: object, **fmt: object) -> ParsedFeed:
    """Parse a JSON document with the given format options."""
    return parse_feed(json.dumps(document).encode(), FeedFormat(kind="json", **fmt))  # type: ignore[arg-type]


def reasons(feed: ParsedFeed) -> dict[int, str]:
    """Map error lines to their reasons."""
    return {e.line: e.reason for e in feed.errors}


def quantities(feed: ParsedFeed) -> dict[str, int]:
    """Map applied SKUs to their quantities."""
    return {r.sku: r.quantity for r in feed.rows}


def gtin_with_check_digit(body: str) -> str:
    """Append the GS1 check digit to a GTIN body."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


# --- CSV: columns and files ----------------------------------------------------------------


def test_minimal_csv_gives_rows_numbered_by_physical_line() -> None:
    feed = csv_feed("sku,quantity\nA,1\nB,2\n")

    assert feed.rows == [FeedRow(line=2, sku="A", quantity=1), FeedRow(line=3, sku="B", quantity=2)]
    assert feed.errors == []
    assert feed.rows_seen == 2
    assert feed.as_of is None


def test_mapping_names_their_headers_matched_case_insensitively_ignoring_spaces() -> None:
    feed = csv_feed(" Item Number ,qty AVAIL\nA,5\n", mapping={"sku": "item number", "quantity": "QTY Avail"})

    assert quantities(feed) == {"A": 5}


def test_unmapped_fields_are_found_under_our_own_names_in_any_case() -> None:
    feed = csv_feed("SKU, Quantity ,DAMAGED,Title\nA,5,1, Chair \n")

    assert feed.rows == [FeedRow(line=2, sku="A", quantity=5, damaged=1, title="Chair")]


def test_missing_sku_column_rejects_file_naming_column_and_headers_found() -> None:
    with pytest.raises(InvalidFeed) as caught:
        csv_feed("code,quantity\nA,1\n")

    assert "'sku'" in caught.value.detail
    assert "'code'" in caught.value.detail and "'quantity'" in caught.value.detail


def test_missing_quantity_column_after_mapping_rejects_file() -> None:
    with pytest.raises(InvalidFeed, match="'QTY AVAIL'"):
        csv_feed("sku,quantity\nA,1\n", mapping={"quantity": "QTY AVAIL"})


def test_required_column_appearing_twice_rejects_file_as_ambiguous() -> None:
    with pytest.raises(InvalidFeed, match="more than once"):
        csv_feed("sku,quantity,Quantity\nA,1,2\n")


def test_mapped_optional_column_missing_from_header_is_ignored() -> None:
    feed = csv_feed("sku,quantity\nA,1\n", mapping={"gtin": "EAN"})

    assert feed.rows == [FeedRow(line=2, sku="A", quantity=1)]


def test_undecodable_bytes_reject_file_naming_encoding_and_offset() -> None:
    with pytest.raises(InvalidFeed) as caught:
        parse_feed(b"sku,quantity\nCaf\xe9,1\n")

    assert "utf-8" in caught.value.detail
    assert "offset 16" in caught.value.detail


def test_undecodable_byte_offset_counts_the_stripped_bom() -> None:
    with pytest.raises(InvalidFeed, match=r"byte 0xFF at offset 16"):
        parse_feed(b"\xef\xbb\xbfsku,quantity\n\xff")


def test_latin1_feed_decodes_when_configured() -> None:
    feed = parse_feed("sku,quantity\nCafé,1\n".encode("latin-1"), FeedFormat(encoding="latin-1"))

    assert quantities(feed) == {"Café": 1}


def test_cp1252_feed_decodes_smart_quotes() -> None:
    feed = parse_feed(
        "sku,quantity,title\nA,1,\u201cBest\u201d\n".encode("cp1252"), FeedFormat(encoding="cp1252")
    )

    assert feed.rows[0].title == "\u201cBest\u201d"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_utf8_bom_is_always_stripped(encoding: str) -> None:
    feed = parse_feed(b"\xef\xbb\xbfsku,quantity\nA,1\n", FeedFormat(encoding=encoding))

    assert quantities(feed) == {"A": 1}


@pytest.mark.parametrize(
    "text", ["", "\n\n", "   \r\n", "sku,quantity\n", "\ufeffsku,quantity", "\nsku,quantity\n\n"]
)
def test_empty_or_header_only_file_is_an_empty_feed_not_an_error(text: str) -> None:
    feed = csv_feed(text)

    assert feed.rows == [] and feed.errors == [] and feed.rows_seen == 0


def test_blank_lines_are_skipped_without_counting_but_line_numbers_stay_physical() -> None:
    feed = csv_feed("\nsku,quantity\n\nA,1\n\n  \n,,\nB,x\n")

    assert feed.rows == [FeedRow(line=4, sku="A", quantity=1)]
    assert reasons(feed) == {8: "quantity 'x' is not a number"}
    assert feed.rows_seen == 2


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_delimiter_is_sniffed_from_the_header(delimiter: str) -> None:
    text = f"sku{delimiter}quantity{delimiter}title\nA{delimiter}3{delimiter}x, y\n"

    assert quantities(csv_feed(text)) == {"A": 3}


def test_sniffing_falls_back_to_next_delimiter_when_commonest_lacks_columns() -> None:
    feed = csv_feed("sku;quantity;notes (a,b,c,d)\nA;4;x\n")

    assert quantities(feed) == {"A": 4}


def test_explicit_delimiter_is_used_as_given() -> None:
    with pytest.raises(InvalidFeed, match="delimiter ','"):
        csv_feed("sku;quantity\nA;1\n", delimiter=",")


def test_quoted_fields_keep_delimiters_and_newlines_and_lines_count_physically() -> None:
    feed = csv_feed('sku,quantity,title\nA,1,"two\nlines, one cell"\nB,2,plain\n')

    assert feed.rows[0].title == "two\nlines, one cell"
    assert [r.line for r in feed.rows] == [2, 4]


def test_carriage_return_only_line_endings_are_read() -> None:
    assert quantities(csv_feed("sku,quantity\rA,1\rB,2\r")) == {"A": 1, "B": 2}


def test_crlf_line_endings_are_read() -> None:
    assert quantities(csv_feed("sku,quantity\r\nA,1\r\nB,2\r\n")) == {"A": 1, "B": 2}


def test_unreadable_delimited_text_rejects_file() -> None:
    with pytest.raises(InvalidFeed, match="line 2"):
        csv_feed("sku,quantity\nA," + "9" * 200_000 + "\n")


# --- CSV: ragged rows ---------------------------------------------------------------------


def test_rows_with_extra_fields_or_trailing_delimiter_are_fine() -> None:
    feed = csv_feed("sku;quantity\nA;1;\nB;2;extra;more\n")

    assert quantities(feed) == {"A": 1, "B": 2}


def test_row_too_short_to_reach_quantity_is_a_row_error() -> None:
    feed = csv_feed("sku,title,quantity\nA,Chair\nB,Desk,3\n")

    assert quantities(feed) == {"B": 3}
    assert feed.errors == [
        RowError(2, "A", "row has 2 fields, too few to reach the 'quantity' column (field 3)")
    ]


def test_row_too_short_for_optional_column_just_lacks_that_value() -> None:
    feed = csv_feed("sku,quantity,damaged\nA,1\n")

    assert feed.rows == [FeedRow(line=2, sku="A", quantity=1)]


# --- row rules: sku and quantities ----------------------------------------------------------------


def test_blank_sku_rejects_only_that_row() -> None:
    feed = csv_feed("sku,quantity\n  ,1\nB,2\n")

    assert quantities(feed) == {"B": 2}
    assert feed.errors == [RowError(2, None, "blank sku")]


def test_sku_is_trimmed() -> None:
    assert quantities(csv_feed("sku,quantity\n  A-1  ,1\n")) == {"A-1": 1}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        ('"12"', 12),
        ("12.0000", 12),
        ("007", 7),
        ("+5", 5),
        ("0", 0),
        ("1000000000", 10**9),
    ],
)
def test_quantity_forms_that_mean_whole_units_are_accepted(cell: str, expected: int) -> None:
    assert quantities(csv_feed(f"sku,quantity\nA,{cell}\n")) == {"A": expected}


def test_negative_quantity_rejects_only_that_row() -> None:
    feed = csv_feed("sku,quantity\nA,-1\nB,4\n")

    assert quantities(feed) == {"B": 4}
    assert feed.errors == [RowError(2, "A", "quantity '-1' is negative")]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("", "quantity is missing"),
        ("  ", "quantity is missing"),
        ("abc", "quantity 'abc' is not a number"),
        ("1e3", "quantity '1e3' is not a number"),
        ("NaN", "quantity 'NaN' is not a number"),
        ("1_000", "quantity '1_000' is not a number"),
        ("\u0661\u0662", "quantity '\u0661\u0662' is not a number"),
        ('"1,200"', "quantity '1,200' has a comma; write whole numbers without thousands separators"),
        ("1000000001", "quantity '1000000001' is absurdly large (over 1,000,000,000)"),
        ("9" * 5000, "is absurdly large"),
        ("-0.5", "quantity '-0.5' is negative"),
        ("6.88", "quantity '6.88' is not a whole number"),
    ],
)
def test_bad_quantity_rejects_the_row_with_a_clear_reason(cell: str, reason: str) -> None:
    feed = csv_feed(f"sku,quantity\nA,{cell}\nB,1\n")

    assert quantities(feed) == {"B": 1}
    assert reason in reasons(feed)[2]


def test_decimal_quantity_is_floored_when_the_feed_says_so() -> None:
    feed = csv_feed("sku,quantity,incoming\nA,6.8800,2.5\n", decimal_quantities="floor")

    assert feed.rows == [FeedRow(line=2, sku="A", quantity=6, incoming=2)]


@pytest.mark.parametrize("field", ["damaged", "pending_inspection", "incoming"])
@pytest.mark.parametrize(
    ("cell", "fragment"),
    [
        ("-2", "is negative"),
        ("x", "is not a number"),
        ("1.5", "is not a whole number"),
        ("2000000000", "absurdly"),
    ],
)
def test_optional_counts_follow_the_quantity_rules(field: str, cell: str, fragment: str) -> None:
    feed = csv_feed(f"sku,quantity,{field}\nA,1,{cell}\n")

    assert feed.rows == []
    assert reasons(feed)[2].startswith(field) and fragment in reasons(feed)[2]


@pytest.mark.parametrize("field", ["damaged", "pending_inspection", "incoming"])
def test_optional_counts_are_read_and_blank_means_none(field: str) -> None:
    feed = csv_feed(f"sku,quantity,{field}\nA,1, 3 \nB,1,\n")

    assert getattr(feed.rows[0], field) == 3
    assert getattr(feed.rows[1], field) is None


def test_every_problem_of_a_row_is_reported_together() -> None:
    feed = csv_feed("sku,quantity,damaged,gtin\nA,-1,x,123\n")

    assert reasons(feed)[2] == (
        "quantity '-1' is negative; damaged 'x' is not a number; GTIN '123' must be 8, 12, 13 or 14 digits"
    )


# --- row rules: GTIN, dates, cost, as_of ---------------------------------------------------------------


@pytest.mark.parametrize(
    "gtin", ["96385074", "036000291452", "0000080446392", "4006381333931", "10012345678902", "00012345678905"]
)
def test_valid_gtins_are_kept_as_strings_with_leading_zeros(gtin: str) -> None:
    feed = csv_feed(f"sku,quantity,gtin\nA,1,{gtin}\n")

    assert feed.rows[0].gtin == gtin


@pytest.mark.parametrize(
    ("gtin", "reason"),
    [
        ("4006381333932", "GTIN 4006381333932 has a wrong check digit"),
        ("12345", "GTIN '12345' must be 8, 12, 13 or 14 digits"),
        ("40063813339311", "GTIN 40063813339311 has a wrong check digit"),
        ("4006381-33393", "must be 8, 12, 13 or 14 digits"),
        ("4.00638E+12", "must be 8, 12, 13 or 14 digits"),
    ],
)
def test_bad_gtin_rejects_the_row(gtin: str, reason: str) -> None:
    feed = csv_feed(f"sku,quantity,gtin\nA,1,{gtin}\n")

    assert feed.rows == []
    assert reason in reasons(feed)[2]


def test_blank_gtin_means_none() -> None:
    assert csv_feed("sku,quantity,gtin\nA,1,  \n").rows[0].gtin is None


@pytest.mark.parametrize("cell", ["2025-03-01", "2025-03-01T10:00:00Z", "2025-03-01T23:30:00-05:00"])
def test_incoming_eta_takes_an_iso_date_or_datetime(cell: str) -> None:
    feed = csv_feed(f"sku,quantity,incoming_eta\nA,1,{cell}\n")

    assert feed.rows[0].incoming_eta == dt.date(2025, 3, 1)


@pytest.mark.parametrize("cell", ["01/03/2025", "2025-02-30", "soon"])
def test_bad_incoming_eta_rejects_the_row(cell: str) -> None:
    feed = csv_feed(f"sku,quantity,incoming_eta\nA,1,{cell}\n")

    assert "incoming_eta" in reasons(feed)[2] and "ISO date" in reasons(feed)[2]


@pytest.mark.parametrize(
    ("cell", "expected"), [("12.50", Decimal("12.50")), ("3", Decimal(3)), (".5", Decimal("0.5"))]
)
def test_cost_is_a_decimal(cell: str, expected: Decimal) -> None:
    assert csv_feed(f"sku,quantity,cost\nA,1,{cell}\n").rows[0].cost == expected


@pytest.mark.parametrize("cell", ['"12,50"', "-1", "NaN", "1_000", "$5", "Infinity"])
def test_bad_cost_rejects_the_row(cell: str) -> None:
    feed = csv_feed(f"sku,quantity,cost\nA,1,{cell}\n")

    assert feed.rows == [] and reasons(feed)[2].startswith("cost")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2025-03-01T10:00:00Z", dt.datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01T12:00:00+02:00", dt.datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01T10:00:00", dt.datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01 10:00:00.5Z", dt.datetime(2025, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_as_of_is_rfc3339_converted_to_utc_and_naive_means_utc(cell: str, expected: dt.datetime) -> None:
    row = csv_feed(f"sku,quantity,as_of\nA,1,{cell}\n").rows[0]

    assert row.as_of == expected and row.as_of.tzinfo == UTC


@pytest.mark.parametrize("cell", ["2025-03-01", "yesterday", "2025-13-01T00:00:00Z"])
def test_bad_or_dateless_as_of_rejects_the_row(cell: str) -> None:
    feed = csv_feed(f"sku,quantity,as_of\nA,1,{cell}\n")

    assert feed.rows == [] and reasons(feed)[2].startswith("as_of")


# --- duplicates, summing, filters ------------------------------------------------------------------


def test_duplicate_sku_rejects_the_later_record_naming_the_first_line() -> None:
    feed = csv_feed("sku,quantity\nA,1\nB,2\nA,3\n")

    assert feed.rows == [FeedRow(2, "A", 1), FeedRow(3, "B", 2)]
    assert feed.errors == [RowError(4, "A", "duplicate SKU 'A': first seen on line 2")]


def test_duplicate_of_a_rejected_record_is_still_a_duplicate() -> None:
    feed = csv_feed("sku,quantity\nA,-1\nA,3\n")

    assert feed.rows == []
    assert reasons(feed) == {2: "quantity '-1' is negative", 3: "duplicate SKU 'A': first seen on line 2"}


def test_sum_duplicates_adds_counts_of_one_sku_across_records() -> None:
    text = (
        "sku,quantity,damaged,incoming,incoming_eta,as_of\n"
        "A,1,,2,2025-05-01,2025-01-01T10:00:00Z\n"
        "B,7,,,,\n"
        "A,3,1,4,2025-04-01,2025-01-01T09:00:00Z\n"
    )
    feed = csv_feed(text, sum_duplicates=True)

    assert feed.rows == [
        FeedRow(
            2,
            "A",
            4,
            damaged=1,
            incoming=6,
            incoming_eta=dt.date(2025, 4, 1),
            as_of=dt.datetime(2025, 1, 1, 9, tzinfo=UTC),
        ),
        FeedRow(3, "B", 7),
    ]
    assert feed.errors == []


def test_sum_duplicates_holds_back_a_sku_when_any_of_its_records_is_bad() -> None:
    feed = csv_feed("sku,quantity\nA,1\nA,x\nB,2\nA,3\n", sum_duplicates=True)

    assert quantities(feed) == {"B": 2}
    assert reasons(feed)[3] == "quantity 'x' is not a number"
    assert "line 3" in reasons(feed)[2]
    assert feed.rows_seen == 3


def test_sum_duplicates_rejects_records_with_conflicting_gtins() -> None:
    feed = csv_feed("sku,quantity,gtin\nA,1,96385074\nA,1,036000291452\n", sum_duplicates=True)

    assert feed.rows == []
    assert "differs" in reasons(feed)[3]


def test_filter_keeps_only_matching_records_and_does_not_count_the_rest() -> None:
    feed = csv_feed("sku,status,quantity\nA,1,5\nB,0,x\nC, 1 ,2\n", filter={"Status": "1"})

    assert quantities(feed) == {"A": 5, "C": 2}
    assert feed.rows_seen == 2


def test_filter_on_a_missing_column_rejects_the_file() -> None:
    with pytest.raises(InvalidFeed, match="filter column 'status'"):
        csv_feed("sku,quantity\nA,1\n", filter={"status": "1"})


# --- format configuration ---------------------------------------------------------------------


def test_feed_format_is_frozen_hashable_and_does_not_share_defaults() -> None:
    first, second = FeedFormat(), FeedFormat()

    assert first == second and hash(first) == hash(second)
    assert first.mapping is not second.mapping
    with pytest.raises(AttributeError):
        first.kind = "json"  # type: ignore[misc]


def test_feed_format_copies_the_mapping_it_is_given() -> None:
    mapping = {"sku": "Item"}
    fmt = FeedFormat(mapping=mapping)
    mapping["sku"] = "Other"

    assert fmt.mapping == {"sku": "Item"}
    with pytest.raises(TypeError):
        fmt.mapping["sku"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "xml"},
        {"decimal_quantities": "round"},
        {"mapping": {"stock": "qty"}},
        {"mapping": {"sku": " "}},
        {"encoding": "klingon"},
        {"encoding": "rot13"},
        {"encoding": "hex"},
        {"delimiter": ",,"},
        {"kind": "x12", "mapping": {"quantity": "33"}},
    ],
)
def test_impossible_feed_format_is_refused_up_front(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FeedFormat(**options)  # type: ignore[arg-type]


# --- JSON ---------------------------------------------------------------------------------------


def test_json_array_of_objects_gives_rows_numbered_by_position() -> None:
    feed = json_feed([{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2, "gtin": "0036000291452"}])

    assert feed.rows == [FeedRow(1, "A", 1), FeedRow(2, "B", 2, gtin="0036000291452")]


@pytest.mark.parametrize("key", ["items", "rows", "data"])
def test_json_object_holding_one_array_is_unwrapped(key: str) -> None:
    assert quantities(json_feed({key: [{"sku": "A", "quantity": 1}]})) == {"A": 1}


def test_push_api_body_gives_file_level_as_of() -> None:
    body = {"as_of": "2025-03-01T12:00:00+01:00", "mode": "full", "rows": [{"sku": "A", "quantity": 1}]}

    feed = json_feed(body)

    assert feed.as_of == dt.datetime(2025, 3, 1, 11, tzinfo=UTC)
    assert quantities(feed) == {"A": 1}


@pytest.mark.parametrize(
    "document",
    [{"a": [{"sku": "A"}], "b": [{"sku": "B"}]}, {"count": 3}, {}, "rows", 42, None],
)
def test_json_without_exactly_one_array_of_records_rejects_file(document: object) -> None:
    with pytest.raises(InvalidFeed):
        json_feed(document)


def test_json_side_lists_do_not_hide_the_records_array() -> None:
    assert quantities(json_feed({"tags": ["x"], "rows": [{"sku": "A", "quantity": 1}]})) == {"A": 1}


@pytest.mark.parametrize("body", [b"{", b"[1,", b"not json", b"\xff\xfe"])
def test_unparseable_json_rejects_file(body: bytes) -> None:
    with pytest.raises(InvalidFeed):
        parse_feed(body, JSON)


def test_json_numbers_beyond_python_digit_limit_reject_file_cleanly() -> None:
    with pytest.raises(InvalidFeed):
        parse_feed(b'[{"sku": "A", "quantity": ' + b"9" * 5000 + b"}]", JSON)


def test_deeply_nested_json_rejects_file_cleanly() -> None:
    with pytest.raises(InvalidFeed):
        parse_feed(b"[" * 100_000 + b"]" * 100_000, JSON)


def test_empty_json_body_is_an_empty_feed() -> None:
    assert parse_feed(b"  ", JSON).rows_seen == 0
    assert json_feed([]).rows_seen == 0


@pytest.mark.parametrize(
    ("value", "expected", "reason"),
    [
        (1.0, 1, None),
        ("12.0000", 12, None),
        (" 7 ", 7, None),
        (1.5, None, "quantity '1.5' is not a whole number"),
        (True, None, "quantity true is not a number"),
        (False, None, "quantity false is not a number"),
        (-1, None, "quantity -1 is negative"),
        (None, None, "quantity is missing"),
        ([1], None, "quantity must be a number, not an array"),
        (1e300, None, "absurdly large"),
    ],
)
def test_json_quantity_must_be_integral(value: object, expected: int | None, reason: str | None) -> None:
    feed = json_feed([{"sku": "A", "quantity": value}])

    if expected is None:
        assert reason in reasons(feed)[1]
    else:
        assert quantities(feed) == {"A": expected}


def test_json_decimal_quantity_is_floored_when_the_feed_says_so() -> None:
    assert quantities(json_feed([{"sku": "A", "quantity": 1.5}], decimal_quantities="floor")) == {"A": 1}


def test_json_numeric_sku_is_read_as_text() -> None:
    assert quantities(json_feed([{"sku": 12345, "quantity": 1}])) == {"12345": 1}


def test_json_gtin_number_that_lost_its_leading_zero_is_rejected() -> None:
    feed = json_feed(
        [{"sku": "A", "quantity": 1, "gtin": 36000291452}, {"sku": "B", "quantity": 1, "gtin": 4006381333931}]
    )

    assert "as strings" in reasons(feed)[1]
    assert feed.rows == [FeedRow(2, "B", 1, gtin="4006381333931")]


@pytest.mark.parametrize("document", [[1, 2], {"rows": ["a", "b"]}, [[{"sku": "A", "quantity": 1}]]])
def test_json_array_holding_no_objects_rejects_file(document: object) -> None:
    with pytest.raises(InvalidFeed, match="holds no records"):
        json_feed(document)


def test_json_record_that_is_not_an_object_is_a_row_error() -> None:
    feed = json_feed([{"sku": "A", "quantity": 1}, 7, "x"])

    assert reasons(feed) == {2: "record is a number, not an object", 3: "record is text, not an object"}


def test_json_keys_follow_mapping_case_insensitively() -> None:
    feed = json_feed([{"ItemNo": "A", " QTY ": 3}], mapping={"sku": "itemno", "quantity": "qty"})

    assert quantities(feed) == {"A": 3}


def test_json_record_lacking_quantity_key_is_a_row_error_when_others_have_it() -> None:
    feed = json_feed([{"sku": "A", "quantity": 1}, {"sku": "B"}])

    assert reasons(feed) == {2: "no 'quantity' field"}


def test_json_where_no_record_has_quantity_rejects_file() -> None:
    with pytest.raises(InvalidFeed, match="no record has a 'quantity' field"):
        json_feed([{"sku": "A", "qty": 1}])


def test_json_rules_match_csv_rules() -> None:
    feed = json_feed(
        [
            {
                "sku": "A",
                "quantity": 1,
                "incoming_eta": "2025-01-02",
                "cost": 2.5,
                "as_of": "2025-01-01T00:00:00Z",
            },
            {"sku": "A", "quantity": 2},
            {"sku": " ", "quantity": 2},
            {"sku": "C", "quantity": 2, "incoming_eta": 20250102},
        ]
    )

    assert feed.rows == [
        FeedRow(
            1,
            "A",
            1,
            incoming_eta=dt.date(2025, 1, 2),
            cost=Decimal("2.5"),
            as_of=dt.datetime(2025, 1, 1, tzinfo=UTC),
        )
    ]
    assert reasons(feed) == {
        2: "duplicate SKU 'A': first seen on line 1",
        3: "blank sku",
        4: "incoming_eta must be a text date, not a number",
    }


def test_json_filter_compares_values_as_text() -> None:
    feed = json_feed(
        [{"sku": "A", "quantity": 1, "status": 1}, {"sku": "B", "quantity": 1, "status": 0}],
        filter={"status": "1"},
    )

    assert quantities(feed) == {"A": 1}


def test_parse_records_numbers_lines_from_first_line_and_takes_any_iterable() -> None:
    records = ({"sku": s, "quantity": q} for s, q in [("A", 1), ("B", -1)])

    feed = parse_records(records, first_line=10)

    assert feed.rows == [FeedRow(10, "A", 1)]
    assert feed.errors == [RowError(11, "B", "quantity -1 is negative")]


# --- properties -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "json", "x12"])
@given(data=st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_never_raise_anything_but_invalid_feed(kind: str, data: bytes) -> None:
    try:
        feed = parse_feed(data, FeedFormat(kind=kind))
    except InvalidFeed:
        return
    assert feed.rows_seen == len(feed.rows) + len(feed.errors)


_CELL = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@given(
    header=st.lists(
        st.sampled_from(["sku", "quantity", "damaged", "gtin", "title", "junk"]), min_size=1, max_size=6
    ),
    cells=st.lists(st.lists(_CELL, max_size=7), max_size=15),
)
@settings(max_examples=300, deadline=None)
def test_arbitrary_csv_text_never_raises_anything_but_invalid_feed(
    header: list[str], cells: list[list[str]]
) -> None:
    text = "\n".join([",".join(header), *(",".join(row) for row in cells)])
    try:
        feed = csv_feed(text)
    except InvalidFeed:
        return
    assert feed.rows_seen == len(feed.rows) + len(feed.errors)


_SKU = st.text(st.sampled_from("ABCab01-_ ./é"), min_size=0, max_size=6)
_QUANTITY = st.one_of(
    st.integers(-3, 1_000_000_005).map(str),
    st.sampled_from(["", " 4 ", "2.0000", "2.5", "1,200", "x", "-0"]),
)
_GTIN = st.one_of(
    st.just(""),
    st.integers(0, 10**11).map(lambda n: gtin_with_check_digit(f"{n:012d}")),
    st.integers(0, 10**12).map(lambda n: f"{n:013d}"),
)


@given(
    records=st.lists(st.tuples(_SKU, _QUANTITY, _GTIN, st.integers(-1, 5)), max_size=25),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
@settings(max_examples=300, deadline=None)
def test_generated_csv_rows_are_applied_unchanged_or_reported(
    records: list[tuple[str, str, str, int]], delimiter: str, newline: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=delimiter,
        lineterminator=newline,
        quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL,
        escapechar="\\" if delimiter == "\t" else None,
    )
    writer.writerow(["sku", "quantity", "gtin", "damaged"])
    for sku, quantity, gtin, damaged in records:
        writer.writerow([sku, quantity, gtin, "" if damaged < 0 else damaged])

    feed = parse_feed(out.getvalue().encode(), FeedFormat(delimiter=delimiter))

    applied = {row.line: row for row in feed.rows}
    rejected = {error.line for error in feed.errors}
    assert not applied.keys() & rejected
    first_line: dict[str, int] = {}
    counted = 0
    for line, (sku, quantity, gtin, damaged) in enumerate(records, start=2):
        if not (sku.strip() or quantity.strip() or gtin or damaged >= 0):
            assert line not in applied and line not in rejected  # a blank line
            continue
        counted += 1
        key = sku.strip()
        duplicate = bool(key) and key in first_line
        first_line.setdefault(key, line)
        text = quantity.strip()
        whole = text.isdigit() or (text.endswith(".0000") and text[:-5].isdigit())
        valid = bool(key) and not duplicate and whole and int(float(text)) <= 1_000_000_000
        if line in applied:
            row = applied[line]
            assert (row.sku, row.quantity) == (key, int(float(text)))
            assert row.gtin == (gtin or None)
            assert row.damaged == (None if damaged < 0 else damaged)
        else:
            assert line in rejected, (line, sku, quantity)
            # A record that passes every other rule may only be rejected for its GTIN.
            assert not valid or gtin, (line, sku, quantity, reasons(feed).get(line))
    assert feed.rows_seen == counted


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)
_FIELD_NAMES = st.sampled_from(
    [
        "sku",
        "quantity",
        "damaged",
        "incoming",
        "incoming_eta",
        "gtin",
        "title",
        "cost",
        "as_of",
        "status",
        "x",
    ]
)
_JSON_RECORDS = st.lists(st.dictionaries(_FIELD_NAMES, _JSON_VALUES, max_size=9) | _JSON_VALUES, max_size=8)


@given(
    document=_JSON_VALUES
    | _JSON_RECORDS
    | st.dictionaries(st.sampled_from(["rows", "as_of", "mode"]), _JSON_RECORDS)
)
@settings(max_examples=400, deadline=None)
def test_arbitrary_json_documents_never_raise_anything_but_invalid_feed(document: object) -> None:
    try:
        feed = parse_feed(json.dumps(document).encode(), FeedFormat(kind="json", filter={"status": "1"}))
    except InvalidFeed:
        return
    assert feed.rows_seen == len(feed.rows) + len(feed.errors)


@given(records=_JSON_RECORDS)
@settings(max_examples=300, deadline=None)
def test_arbitrary_decoded_records_never_raise_anything_but_invalid_feed(records: list[object]) -> None:
    try:
        feed = parse_records(records)  # type: ignore[arg-type]
    except InvalidFeed:
        return
    assert feed.rows_seen == len(feed.rows) + len(feed.errors)


def test_decoded_records_with_huge_integers_are_row_errors() -> None:
    huge = 10**5000
    feed = parse_records(
        [
            {"sku": huge, "quantity": 1},
            {"sku": "A", "quantity": huge},
            {"sku": "B", "quantity": 1, "gtin": huge},
            {"sku": "C", "quantity": 1, "cost": huge},
            {"sku": "D", "quantity": 1, "status": huge},
        ]
    )

    assert feed.rows == [FeedRow(5, "D", 1)]
    assert reasons(feed)[1] == "sku is a number too long to be an identifier"
    assert "absurdly large" in reasons(feed)[2]


@given(st.integers(min_value=0, max_value=10**13 - 1))
def test_catalog_and_feed_agree_on_every_gtin_check_digit(n):
    body = f"{n:012d}"
    good = body + str(gtin_check_digit(body))
    bad = body + str((gtin_check_digit(body) + 1) % 10)
    assert is_valid_gtin(good) and parse_gtin(good) == (good, None)
    assert not is_valid_gtin(bad) and parse_gtin(bad)[0] is None
