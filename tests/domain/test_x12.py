"""X12 846 feeds: envelope quirks, item rules, as-of and lenient envelope checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.errors import InvalidFeed
from network.feeds.parsing import FeedFormat, FeedRow, ParsedFeed, RowError, parse_feed
from network.feeds.x12 import read_interchange

X12 = FeedFormat(kind="x12")
UTC = dt.UTC
ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *200101*1200*U*00401*000000001*0*P*"
)


def interchange(
    *body: str,
    kind: str = "846",
    se_count: int | None = None,
    gs: str = "GS*IB*SENDER*RECEIVER*20200101*1200*1*X*004010",
    trailer: bool = True,
) -> str:
    """Build a one-set interchange in `*`/`~`/`>` with correct counts unless told otherwise."""
    st_ = [f"ST*{kind}*0001", *body]
    se = f"SE*{se_count if se_count is not None else len(st_) + 1}*0001"
    segments = [ISA + ">", gs, *st_, se, "GE*1*1", "IEA*1*000000001"] if trailer else [ISA + ">", gs, *st_]
    return "~\n".join(segments) + "~\n"


def x12(text: str, **fmt: object) -> ParsedFeed:
    """Parse X12 text with the given format options."""
    return parse_feed(text.encode(), FeedFormat(kind="x12", **fmt))  # type: ignore[arg-type]


def quantities(feed: ParsedFeed) -> dict[str, int]:
    """Map applied SKUs to their quantities."""
    return {r.sku: r.quantity for r in feed.rows}


def reasons(feed: ParsedFeed) -> dict[int, str]:
    """Map error lines to reasons (line 0 errors joined)."""
    out: dict[int, str] = {}
    for error in feed.errors:
        out[error.line] = f"{out[error.line]} | {error.reason}" if error.line in out else error.reason
    return out


# --- delimiters and envelope quirks -------------------------------------------------------------

CANONICAL = interchange("BIA*00*SI*R1*20200101", "LIN*1*VN*ABC", "QTY*33*7*EA")


@pytest.mark.parametrize(
    ("element", "terminator", "component"),
    [
        ("*", "~", ">"),
        ("~", "}", ">"),
        ("~", "*", ">"),
        ("|", "~", ">"),
        ("*", "~", "`"),
        ("*", "~", "{"),
        ("*", "~", ":"),
    ],
)
@pytest.mark.parametrize("after", ["", "\n", "\r\n", "\r\n    "])
def test_delimiters_come_from_the_isa_whatever_they_are(
    element: str, terminator: str, component: str, after: str
) -> None:
    text = CANONICAL.replace("*", "\x00").replace("~\n", "\x01").replace(">", component)
    text = text.replace("\x00", element).replace("\x01", terminator + after)

    feed = x12(text)

    assert feed.rows == [FeedRow(line=5, sku="ABC", quantity=7)]
    assert feed.errors == []


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_breaks_alone_can_terminate_segments(newline: str) -> None:
    feed = x12(CANONICAL.replace("~\n", newline))

    assert quantities(feed) == {"ABC": 7} and feed.errors == []


@pytest.mark.parametrize("after", ["\n", ""])
def test_missing_isa16_is_detected_from_the_terminator_position(after: str) -> None:
    text = CANONICAL.replace("*P*>~\n", "*P*~" + after)

    interchange_ = read_interchange(text)

    assert (interchange_.component, interchange_.terminator) == (None, "~")
    assert quantities(x12(text)) == {"ABC": 7}


def test_bom_indentation_and_nbsp_padding_are_tolerated() -> None:
    text = "\ufeff" + CANONICAL.replace("*          *", "*\xa0\xa0 \xa0*").replace("~\n", "~\r\n\t  ")

    assert quantities(parse_feed(text.encode(), X12)) == {"ABC": 7}


def test_a_segment_that_lost_its_terminator_still_ends_at_its_line_break() -> None:
    text = CANONICAL.replace("LIN*1*VN*ABC~", "LIN*1*VN*ABC")

    feed = x12(text)

    assert quantities(feed) == {"ABC": 7} and feed.errors == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ST*846*0001~", "must start with an ISA"),
        ("ISA", "must start with an ISA"),
        ("ISA*00*   *00", "cut short"),
        ("ISAA00A", "must be a symbol"),
        (ISA, "cut short"),
        (ISA[:-1] + "**", "same character"),
    ],
)
def test_unreadable_isa_rejects_the_file(text: str, fragment: str) -> None:
    with pytest.raises(InvalidFeed, match=fragment):
        x12(text)


@pytest.mark.parametrize("text", ["", " \r\n", "\ufeff"])
def test_blank_x12_file_is_an_empty_feed(text: str) -> None:
    assert x12(text).rows_seen == 0


def test_file_without_an_846_set_is_rejected_naming_what_it_holds() -> None:
    with pytest.raises(InvalidFeed, match=r"found: 850"):
        x12(interchange("BEG*00*SA*1**20200101", kind="850"))


# --- envelope checks are reported, not fatal -------------------------------------------------------------


def test_wrong_se_count_is_reported_on_line_zero_and_rows_still_apply() -> None:
    feed = x12(interchange("BIA*00*SI*R1*20200101", "LIN*1*VN*ABC", "QTY*33*7", se_count=9))

    assert quantities(feed) == {"ABC": 7}
    assert feed.errors == [
        RowError(0, None, "segment 7: SE01 is '9' but segments counted from ST to SE is '5'")
    ]
    assert feed.rows_seen == 2


def test_mismatched_control_numbers_are_reported() -> None:
    text = (
        CANONICAL.replace("SE*5*0001", "SE*5*0002")
        .replace("GE*1*1", "GE*1*2")
        .replace("IEA*1*000000001", "IEA*1*00000001")
    )

    errors = reasons(x12(text))[0]

    assert "SE02 is '0002' but ST02 is '0001'" in errors
    assert "GE02 is '2' but GS06 is '1'" in errors
    assert "IEA02 is '00000001' but ISA13 is '000000001'" in errors


def test_missing_trailers_are_reported() -> None:
    feed = x12(interchange("LIN*1*VN*ABC", "QTY*33*7", trailer=False))

    assert quantities(feed) == {"ABC": 7}
    assert {e.reason for e in feed.errors} == {
        "segment 3: ST has no SE",
        "segment 2: GS has no GE",
        "segment 1: ISA has no IEA",
    }


def test_other_transaction_sets_beside_an_846_are_noted_and_skipped() -> None:
    text = CANONICAL.replace("GE*1*1", "ST*850*0002~\nBEG*00*SA*1**20200101~\nSE*3*0002~\nGE*2*1")

    feed = x12(text)

    assert quantities(feed) == {"ABC": 7}
    assert feed.errors == [RowError(0, None, "segment 8: transaction set '850' ignored; only 846 is read")]


def test_glued_segment_that_swallowed_the_quantity_is_named_in_the_item_error() -> None:
    feed = x12(interchange("LIN**VN*A", "REF*ZZ*ASIAQTY*17*40*EA", "LIN**VN*B", "QTY*17*5"))

    assert quantities(feed) == {"B": 5}
    reason = reasons(feed)[4]
    assert reason.startswith("no stock quantity")
    assert "segment 5 'REF*ZZ*ASIAQTY*17*40*EA' has 5 elements where REF allows 4" in reason
    assert "looks missing before 'QTY'" in reason


def test_glued_segment_that_left_the_quantity_readable_is_a_file_note() -> None:
    feed = x12(interchange("LIN**VN*A", "QTY*17*7280*FTCTT*5"))

    assert quantities(feed) == {"A": 7280}
    assert "QTY03 'FTCTT' is not a unit code" in reasons(feed)[0]
    assert "looks missing before 'CTT'" in reasons(feed)[0]


# --- items ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lin", "sku"),
    [
        ("LIN*1*UP*036000291452*VN*V-1*SK*S-1", "V-1"),
        ("LIN*1*UP*036000291452*SK*S-1", "S-1"),
        ("LIN**BP*B-1*MG*M-1", "B-1"),
        ("LIN*1*VN* V-2 ", "V-2"),
    ],
)
def test_sku_is_vn_else_sk_else_the_first_id(lin: str, sku: str) -> None:
    assert quantities(x12(interchange(lin, "QTY*33*1"))) == {sku: 1}


def test_mapping_names_the_sku_qualifier() -> None:
    text = interchange("LIN*1*VN*V-1*UP*036000291452", "QTY*33*1", "LIN*2*VN*V-2", "QTY*33*2")

    feed = x12(text, mapping={"sku": "up"})

    assert quantities(feed) == {"036000291452": 1}
    assert reasons(feed) == {6: "LIN has no 'UP' product id"}


def test_lin_without_any_product_id_is_a_row_error() -> None:
    feed = x12(interchange("LIN*1", "QTY*33*1"))

    assert feed.errors == [RowError(4, None, "LIN has no product id")]


@pytest.mark.parametrize(
    ("lin", "gtin"),
    [
        ("LIN*1*VN*A*UP*036000291452", "036000291452"),
        ("LIN*1*VN*A*EN*4006381333931", "4006381333931"),
        ("LIN*1*VN*A*UK*10012345678902*EN*4006381333931", "4006381333931"),
        ("LIN*1*VN*A", None),
    ],
)
def test_gtin_comes_from_up_en_or_uk(lin: str, gtin: str | None) -> None:
    assert x12(interchange(lin, "QTY*33*1")).rows[0].gtin == gtin


def test_bad_gtin_rejects_the_item() -> None:
    feed = x12(interchange("LIN*1*VN*A*UP*036000291453", "QTY*33*1"))

    assert feed.errors == [RowError(4, "A", "GTIN 036000291453 has a wrong check digit")]


@pytest.mark.parametrize(
    ("quantities_", "expected"),
    [
        (["QTY*17*9", "QTY*33*5", "QTY*34*7"], 5),
        (["QTY*17*9", "QTY*34*7"], 7),
        (["QTY*17*9"], 9),
        (["QTY*33*5*EA", "QTY*33*6*EA"], 11),
    ],
)
def test_quantity_is_33_else_34_else_17_summed_over_locations(quantities_: list[str], expected: int) -> None:
    assert quantities(x12(interchange("LIN*1*VN*A", *quantities_))) == {"A": expected}


def test_on_order_quantity_becomes_incoming_with_the_eta_that_follows_it() -> None:
    text = interchange(
        "LIN*1*VN*A", "QTY*33*5", "DTM*371*20250101", "QTY*63*40", "UIT*EA", "DTM*371*20250301"
    )

    assert x12(text).rows == [FeedRow(4, "A", 5, incoming=40, incoming_eta=dt.date(2025, 3, 1))]


def test_available_date_also_counts_as_eta() -> None:
    text = interchange("LIN*1*VN*A", "QTY*33*5", "QTY*63*40", "DTM*018*20250301")

    assert x12(text).rows[0].incoming_eta == dt.date(2025, 3, 1)


def test_bad_eta_rejects_the_item() -> None:
    feed = x12(interchange("LIN*1*VN*A", "QTY*33*5", "QTY*63*40", "DTM*371*20251301"))

    assert reasons(feed) == {4: "incoming date '20251301' is not CCYYMMDD"}


@pytest.mark.parametrize(
    ("segments", "damaged"), [(["QTY*74*3", "QTY*20*9"], 3), (["QTY*20*9"], 9), ([], None)]
)
def test_damaged_goods_come_from_74_else_unusable_20(segments: list[str], damaged: int | None) -> None:
    assert x12(interchange("LIN*1*VN*A", "QTY*33*5", *segments)).rows[0].damaged == damaged


def test_other_quantity_codes_are_ignored() -> None:
    feed = x12(interchange("LIN*1*VN*A", "QTY*QH*100", "QTY*87*75", "QTY*02*4", "QTY*33*5"))

    assert feed.rows == [FeedRow(4, "A", 5)]


def test_item_without_a_stock_quantity_is_a_row_error() -> None:
    feed = x12(interchange("LIN*1*VN*A", "QTY*QH*100", "QTY*63*4", "LIN*2*VN*B", "QTY*33*1"))

    assert quantities(feed) == {"B": 1}
    assert reasons(feed) == {4: "no stock quantity: the item has no QTY with code 33/34/17"}


@pytest.mark.parametrize(
    ("qty", "reason"),
    [
        ("QTY*17*1998.61*FT", "quantity (QTY*17) '1998.61' is not a whole number"),
        ("QTY*33*-4", "quantity (QTY*33) '-4' is negative"),
        ("QTY*33", "quantity (QTY*33) has no number"),
        ("QTY*33*1,000", "quantity (QTY*33) '1,000' has a comma"),
    ],
)
def test_bad_quantity_rejects_the_item(qty: str, reason: str) -> None:
    feed = x12(interchange("LIN*1*VN*A", qty))

    assert feed.rows == [] and reasons(feed)[4].startswith(reason)


def test_decimal_quantities_are_floored_when_the_feed_says_so() -> None:
    feed = x12(interchange("LIN*1*VN*A", "QTY*17*1998.61*FT"), decimal_quantities="floor")

    assert quantities(feed) == {"A": 1998}


def test_duplicate_item_is_rejected_unless_summing() -> None:
    text = interchange("LIN*1*VN*A", "QTY*33*5", "LIN*2*VN*A", "QTY*33*6")

    assert reasons(x12(text)) == {6: "duplicate SKU 'A': first seen on line 4"}
    assert quantities(x12(text, sum_duplicates=True)) == {"A": 11}


def test_title_and_cost_are_read_from_pid_and_ctp() -> None:
    text = interchange("LIN*1*VN*A", "PID*F****Office chair", "CTP**ACT*12.50", "CTP**MSR*99", "QTY*33*1")

    row = x12(text).rows[0]

    assert (row.title, row.cost) == ("Office chair", Decimal("12.50"))


def test_two_846_sets_give_rows_from_both_and_the_earliest_as_of() -> None:
    second = "ST*846*0002~\nBIA*00*SI*R2*20200101*0900~\nLIN*1*VN*B~\nQTY*33*2~\nSE*5*0002~\n"
    text = interchange("BIA*00*SI*R1*20200101*1000", "LIN*1*VN*A", "QTY*33*1").replace(
        "GE*1*1", second + "GE*2*1"
    )

    feed = x12(text)

    assert quantities(feed) == {"A": 1, "B": 2} and feed.errors == []
    assert feed.as_of == dt.datetime(2020, 1, 1, 9, tzinfo=UTC)


# --- as-of ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["BIA*00*SI*R1*20200102*0830", "DTM*007*20200101*2300*GM"], dt.datetime(2020, 1, 1, 23, tzinfo=UTC)),
        (["DTM*007*20200101*2300*ES"], dt.datetime(2020, 1, 2, 4, tzinfo=UTC)),
        (["DTM*097*20200101*230015*ED"], dt.datetime(2020, 1, 2, 3, 0, 15, tzinfo=UTC)),
        (["BIA*00*SI*R1*20200102*083015"], dt.datetime(2020, 1, 2, 8, 30, 15, tzinfo=UTC)),
        (["BIA*00*SI*R1*20200101"], dt.datetime(2020, 1, 1, 12, tzinfo=UTC)),
        (["BIA*00*SI*R1*20191231"], dt.datetime(2019, 12, 31, tzinfo=UTC)),
        (["DTM*036*20300101"], dt.datetime(2020, 1, 1, 12, tzinfo=UTC)),
        ([], dt.datetime(2020, 1, 1, 12, tzinfo=UTC)),
    ],
)
def test_as_of_comes_from_header_dtm_then_bia_then_gs(header: list[str], expected: dt.datetime) -> None:
    feed = x12(interchange(*header, "LIN*1*VN*A", "QTY*33*1"))

    assert feed.as_of == expected
    assert feed.rows[0].as_of is None


def test_unreadable_as_of_is_noted_and_the_next_source_used() -> None:
    feed = x12(interchange("BIA*00*SI*R1*20200102*2561", "LIN*1*VN*A", "QTY*33*1"))

    assert feed.as_of == dt.datetime(2020, 1, 1, 12, tzinfo=UTC)
    assert "segment 4 BIA: date/time '20200102' '2561'" in reasons(feed)[0]


# --- robustness ------------------------------------------------------------------------------------


@given(
    cuts=st.lists(
        st.tuples(st.integers(0, len(CANONICAL)), st.integers(0, 8), st.text(max_size=6)), max_size=6
    )
)
@settings(max_examples=400, deadline=None)
def test_mangled_interchanges_never_raise_anything_but_invalid_feed(cuts: list[tuple[int, int, str]]) -> None:
    text = interchange(
        "BIA*00*SI*R1*20200101*1200", "LIN*1*VN*A*UP*036000291452", "QTY*33*5", "QTY*63*2", "DTM*371*20250101"
    )
    for at, length, insert in cuts:
        text = text[:at] + insert + text[at + length :]
    try:
        feed = x12(text)
    except InvalidFeed:
        return
    assert feed.rows_seen == len(feed.rows) + len(feed.errors)
