"""Supplier feeds and X12 846s in the shapes real vendors send, written by us (tests/fixtures).

The same behaviours as tests/domain/test_feed_samples.py checks on third-party files, on files
that live in the repository, so a fresh clone checks them all.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from network.errors import InvalidFeed
from network.feeds.parsing import FeedFormat, FeedRow, ParsedFeed, RowError, parse_feed
from network.feeds.x12 import read_interchange, walk_envelope
from tests.samples import FIXTURES, fixture

UTC = dt.UTC
X12 = FeedFormat(kind="x12")
PRESTASHOP = FeedFormat(
    encoding="latin-1", mapping={"sku": "Reference", "quantity": "Quantity", "gtin": "EAN13"}
)


def quantities(feed: ParsedFeed) -> dict[str, int]:
    return {row.sku: row.quantity for row in feed.rows}


def reasons(feed: ParsedFeed) -> dict[int, str]:
    return {error.line: error.reason for error in feed.errors}


# --- supplier CSV feeds ---------------------------------------------------------------------------


def test_negative_quantity_is_rejected_and_the_others_applied() -> None:
    feed = parse_feed(
        fixture("feeds/stock_negative_quantity.csv"), FeedFormat(mapping={"quantity": "quantityOnStock"})
    )

    assert feed.rows == [FeedRow(2, "desk-lamp", 9), FeedRow(4, "CHAIR-7", 40)]
    assert feed.errors == [RowError(3, "pen-holder", "quantity '-3' is negative")]


def test_msi_sources_are_summed_per_sku_when_fractions_are_floored() -> None:
    feed = parse_feed(
        fixture("feeds/msi_stock_sources.csv"), FeedFormat(sum_duplicates=True, decimal_quantities="floor")
    )

    # MUG-1: wh-north 4.7500 (floored to 4) + wh-south 2.0000; KETTLE-2: 12 + 30.
    assert quantities(feed) == {"MUG-1": 6, "KETTLE-2": 42}
    assert feed.errors == []


def test_msi_fractional_stock_holds_back_the_whole_sku_by_default() -> None:
    feed = parse_feed(fixture("feeds/msi_stock_sources.csv"), FeedFormat(sum_duplicates=True))

    assert quantities(feed) == {"KETTLE-2": 42}
    assert reasons(feed)[2] == "quantity '4.7500' is not a whole number"
    assert "line 2" in reasons(feed)[3]


def test_msi_export_sums_only_sources_in_stock() -> None:
    feed = parse_feed(
        fixture("feeds/msi_export_status.csv"),
        FeedFormat(sum_duplicates=True, filter={"status": "1"}, decimal_quantities="floor"),
    )

    # MUG-1: 7.5 (floored to 7) + 1 + wh-closed 4 (status 1: the name is only a name); wh-east
    # has status 0. TRAY-3's only row has status 0.
    assert quantities(feed) == {"MUG-1": 12, "KETTLE-2": 9}
    assert feed.rows_seen == 2


def test_msi_export_without_the_filter_would_count_out_of_stock_sources() -> None:
    feed = parse_feed(
        fixture("feeds/msi_export_status.csv"), FeedFormat(sum_duplicates=True, decimal_quantities="floor")
    )

    assert quantities(feed) == {"MUG-1": 32, "KETTLE-2": 9, "TRAY-3": 8}


def test_prestashop_latin1_semicolon_file_applies_references_with_valid_ean13() -> None:
    feed = parse_feed(fixture("feeds/prestashop_combinations_latin1.csv"), PRESTASHOP)

    # Ragged rows (24 or 25 fields), commas and colons inside cells, Latin-1 umlauts; leading
    # zeros of an EAN kept, and two references sharing one EAN are both fine.
    assert feed.rows == [
        FeedRow(2, "TEE-GRÜN-S", 5, gtin="4006381333931"),
        FeedRow(4, "TEE-GRÜN-L", 0, gtin="4006381333948"),
        FeedRow(6, "TEE-ROT-S", 3, gtin="0000042042105"),
        FeedRow(7, "TEE-ROT-M", 8, gtin="0000042042105"),
        FeedRow(9, "TASSE-WEIß", 2),
    ]
    assert feed.rows_seen == 8


def test_prestashop_eans_with_wrong_check_digits_are_rejected() -> None:
    feed = parse_feed(fixture("feeds/prestashop_combinations_latin1.csv"), PRESTASHOP)

    assert reasons(feed)[3] == "GTIN 4006381333932 has a wrong check digit"
    assert reasons(feed)[8] == "GTIN 0000042042100 has a wrong check digit"


def test_prestashop_repeated_reference_rejects_the_later_combination() -> None:
    feed = parse_feed(fixture("feeds/prestashop_combinations_latin1.csv"), PRESTASHOP)

    assert reasons(feed)[5] == "duplicate SKU 'TEE-GRÜN-S': first seen on line 2"


def test_prestashop_without_gtin_mapping_applies_every_unique_reference() -> None:
    fmt = FeedFormat(encoding="latin-1", mapping={"sku": "Reference", "quantity": "Quantity"})

    feed = parse_feed(fixture("feeds/prestashop_combinations_latin1.csv"), fmt)

    assert len(feed.rows) == 7
    assert set(reasons(feed)) == {5}
    assert quantities(feed)["TASSE-BLAU"] == 6


def test_latin1_file_read_as_utf8_is_refused_naming_the_encoding_to_set() -> None:
    with pytest.raises(InvalidFeed, match="not valid utf-8.*set the feed's encoding"):
        parse_feed(
            fixture("feeds/prestashop_combinations_latin1.csv"), FeedFormat(mapping={"sku": "Reference"})
        )


def test_wide_catalog_import_reads_qty_past_quoted_commas() -> None:
    feed = parse_feed(
        fixture("feeds/magento_catalog_wide.csv"), FeedFormat(mapping={"quantity": "qty", "title": "name"})
    )

    assert feed.rows == [FeedRow(2, "desk-organiser-oak", 37, title="Desk Organiser, Oak")]


def test_open_listings_blank_fba_quantities_are_reported_not_zeroed() -> None:
    feed = parse_feed(fixture("feeds/amazon_open_listings.tsv"), FeedFormat(mapping={"cost": "price"}))

    assert feed.rows_seen == 8
    assert quantities(feed) == {"MX-KB-01": 12, "MX-MS-02": 0, "MX-CBL-USB": 140}
    assert feed.rows[0] == FeedRow(2, "MX-KB-01", 12, cost=Decimal("49.90"))
    # The last line ends with a TAB and no newline: still one row, its quantity missing.
    assert {line: reason for line, reason in reasons(feed).items() if line != 6} == {
        3: "quantity is missing",
        5: "quantity is missing",
        8: "quantity is missing",
        9: "quantity is missing",
    }
    assert reasons(feed)[6] == "row has 3 fields, too few to reach the 'quantity' column (field 4)"


# --- X12 846 -------------------------------------------------------------------------------------


def test_846_4010_reads_noncommitted_shelf_stock_for_the_first_id() -> None:
    feed = parse_feed(fixture("x12/846_4010_tilde_brace_bom.edi"), X12)

    # '~' elements, '}' terminator, BOM, CRLF and indentation. The LIN has BP/EC/MF/MG ids and no
    # VN/SK, so the first id is the SKU; QTY*34 is the sellable count, QH/QB/87 are not.
    assert feed.rows == [FeedRow(9, "NW-8812", 640)]
    assert feed.errors == []
    assert feed.as_of == dt.datetime(2026, 11, 29, 21, 45, tzinfo=UTC)  # DTM*007 ... 2145 GM


def test_846_4010_can_be_keyed_by_manufacturer_part_number() -> None:
    fmt = FeedFormat(kind="x12", mapping={"sku": "MG"})

    assert quantities(parse_feed(fixture("x12/846_4010_tilde_brace_bom.edi"), fmt)) == {"7788990011": 640}


def test_846_star_terminated_rejects_fractional_feet_and_reports_the_glued_segments() -> None:
    feed = parse_feed(fixture("x12/846_4010_tilde_star_glued.edi"), X12)

    assert feed.rows == [FeedRow(14, "ROPE-16MM", 80, cost=Decimal("2.75"))]
    errors = reasons(feed)
    assert errors[5] == "quantity (QTY*17) '250.5' is not a whole number"
    # REF~ZZ~EUQTY~17~120.25~FT swallowed the second item's on-hand quantity.
    assert errors[9].startswith("no stock quantity")
    assert "missing before 'QTY'" in errors[9]
    # QTY~17~80~FTCTT~3 swallowed the CTT; the quantity itself is still clear.
    assert "missing before 'CTT'" in errors[0]
    assert feed.as_of == dt.datetime(2026, 11, 30, 8, 15, 30, 250000, tzinfo=UTC)  # BIA05 HHMMSSDD


def test_846_star_terminated_floored_gives_every_readable_item() -> None:
    fmt = FeedFormat(kind="x12", decimal_quantities="floor")

    feed = parse_feed(fixture("x12/846_4010_tilde_star_glued.edi"), fmt)

    assert quantities(feed) == {"ROPE-10MM": 250, "ROPE-16MM": 80}
    assert [e.line for e in feed.errors] == [0, 9]


def test_846_5010_reads_available_quantity_as_of_the_gs_time() -> None:
    feed = parse_feed(fixture("x12/846_5010_minimal_qty33.edi"), X12)

    assert feed.rows == [FeedRow(6, "NW-BOLT-M8", 360)]
    assert feed.errors == []
    assert feed.as_of == dt.datetime(2026, 12, 1, 6, 45, tzinfo=UTC)


# --- every X12 fixture: envelope quirks ------------------------------------------------------------

X12_FIXTURES = sorted(p.name for p in (FIXTURES / "x12").glob("*.edi"))


@pytest.mark.parametrize("name", X12_FIXTURES)
def test_every_x12_fixture_splits_into_the_sets_its_name_announces(name: str) -> None:
    text = fixture(f"x12/{name}").decode("utf-8").removeprefix("\ufeff")
    kind = name[:3]

    if not text.lstrip().startswith("ISA"):
        with pytest.raises(InvalidFeed, match="must start with an ISA"):
            read_interchange(text)
        return
    notes: list[str] = []
    sets = walk_envelope(read_interchange(text).segments, notes)

    assert {s.kind for s in sets} == {kind}
    assert all(s.segments[0].tag == "ST" and s.segments[-1].tag == "SE" for s in sets)
    if kind != "846":
        with pytest.raises(InvalidFeed, match=f"found: {kind}"):
            parse_feed(fixture(f"x12/{name}"), X12)


ENVELOPE_NOTES = {
    "856_bad_se_count.edi": ["segment 22: SE01 is '7' but segments counted from ST to SE is '20'"],
    "865_bad_iea.edi": ["segment 9: IEA02 is '00009021' but ISA13 is '000009021'"],
    "850_missing_isa16_two_sets.edi": [],
    "855_two_sets_newline.edi": [],
    "856_mixed_terminators.edi": [],
}


@pytest.mark.parametrize(("name", "expected"), sorted(ENVELOPE_NOTES.items()))
def test_envelope_problems_in_fixtures_are_found_and_clean_ones_pass(name: str, expected: list[str]) -> None:
    text = fixture(f"x12/{name}").decode("utf-8").removeprefix("\ufeff")
    notes: list[str] = []

    walk_envelope(read_interchange(text).segments, notes)

    assert notes == expected
