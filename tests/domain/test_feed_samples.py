"""Real supplier feeds and X12 files from ../shared/samples: what a person reading them expects.

An extra check on third-party files (skipped when the folder is absent, failing under
REQUIRE_SAMPLES=1: see tests/samples.py); tests/domain/test_feed_fixtures.py checks the same
behaviours on our own fixtures.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from network.errors import InvalidFeed
from network.feeds.parsing import FeedFormat, FeedRow, ParsedFeed, RowError, parse_feed
from network.feeds.x12 import read_interchange, walk_envelope
from tests.samples import sample, sample_names

UTC = dt.UTC
X12 = FeedFormat(kind="x12")
PRESTASHOP = FeedFormat(mapping={"sku": "Reference", "quantity": "Quantity", "gtin": "EAN13"})


def quantities(feed: ParsedFeed) -> dict[str, int]:
    """Map applied SKUs to their quantities."""
    return {row.sku: row.quantity for row in feed.rows}


def reasons(feed: ParsedFeed) -> dict[int, str]:
    """Map error lines to their reasons."""
    return {error.line: error.reason for error in feed.errors}


# --- supplier CSV feeds ---------------------------------------------------------------------------


def test_commercetools_negative_quantity_is_rejected_and_the_others_applied() -> None:
    feed = parse_feed(
        sample("supplier_feeds/commercetools_stock_import_negative_qty.csv"),
        FeedFormat(mapping={"quantity": "quantityOnStock"}),
    )

    assert feed.rows == [FeedRow(2, "foo", 9), FeedRow(4, "SKU-123", 42)]
    assert feed.errors == [RowError(3, "bar", "quantity '-1' is negative")]


def test_magento_msi_sources_are_summed_per_sku_when_fractions_are_floored() -> None:
    feed = parse_feed(
        sample("supplier_feeds/magento_msi_stock_sources.csv"),
        FeedFormat(sum_duplicates=True, decimal_quantities="floor"),
    )

    # SKU-1: eu-1 6.8800 (floored to 6) + eu-2 5.0000; SKU-2: us-1 15 + eu-1 33.
    assert quantities(feed) == {"SKU-1": 11, "SKU-2": 48}
    assert feed.errors == []


def test_magento_msi_fractional_stock_holds_back_the_whole_sku_by_default() -> None:
    feed = parse_feed(sample("supplier_feeds/magento_msi_stock_sources.csv"), FeedFormat(sum_duplicates=True))

    assert quantities(feed) == {"SKU-2": 48}
    assert reasons(feed)[2] == "quantity '6.8800' is not a whole number"
    assert "line 2" in reasons(feed)[3]


def test_magento_msi_export_sums_only_sources_in_stock() -> None:
    feed = parse_feed(
        sample("supplier_feeds/magento_msi_export_with_disabled_sources.csv"),
        FeedFormat(sum_duplicates=True, filter={"status": "1"}, decimal_quantities="floor"),
    )

    # SKU-1: eu-1 5.5 (floored to 5) + eu-2 3 + eu-disabled 10 (its status is 1; the
    # name is only a name); eu-3 has status 0. SKU-3's only row has status 0.
    assert quantities(feed) == {"SKU-1": 18, "SKU-2": 5}
    assert feed.rows_seen == 2


def test_magento_msi_export_without_the_filter_would_count_out_of_stock_sources() -> None:
    feed = parse_feed(
        sample("supplier_feeds/magento_msi_export_with_disabled_sources.csv"),
        FeedFormat(sum_duplicates=True, decimal_quantities="floor"),
    )

    assert quantities(feed) == {"SKU-1": 28, "SKU-2": 5, "SKU-3": 6}


def test_prestashop_semicolon_file_applies_references_with_valid_ean13() -> None:
    feed = parse_feed(sample("supplier_feeds/prestashop_combinations_import_semicolon.csv"), PRESTASHOP)

    assert feed.rows == [
        FeedRow(2, "RP-Nano-Blue-16GB", 10, gtin="0000080446392"),
        FeedRow(22, "RP-MacBookAir80GB-1.6MHz", 10, gtin="0123457000000"),
        FeedRow(24, "RP-MacBookAir64GB-1.8MHz", 10, gtin="0123457000000"),
        FeedRow(26, "RP-IpodTouch8GB", 10, gtin="8456120000000"),
        FeedRow(27, "RP-IpodTouch16GB", 10, gtin="8456120000000"),
        FeedRow(28, "RP-IpodTouch32GB", 10, gtin="8456120000000"),
    ]
    assert feed.rows_seen == 27


def test_prestashop_placeholder_eans_with_wrong_check_digits_are_rejected() -> None:
    feed = parse_feed(sample("supplier_feeds/prestashop_combinations_import_semicolon.csv"), PRESTASHOP)

    bad_check_digit = {line for line, reason in reasons(feed).items() if "wrong check digit" in reason}
    assert bad_check_digit == set(range(3, 22))
    assert reasons(feed)[18] == "GTIN 0685387000000 has a wrong check digit"


def test_prestashop_repeated_reference_rejects_the_later_combination() -> None:
    feed = parse_feed(sample("supplier_feeds/prestashop_combinations_import_semicolon.csv"), PRESTASHOP)

    assert reasons(feed)[23] == "duplicate SKU 'RP-MacBookAir80GB-1.6MHz': first seen on line 22"
    assert reasons(feed)[25] == "duplicate SKU 'RP-MacBookAir64GB-1.8MHz': first seen on line 24"


def test_prestashop_without_gtin_mapping_applies_every_unique_reference() -> None:
    fmt = FeedFormat(mapping={"sku": "Reference", "quantity": "Quantity"})

    feed = parse_feed(sample("supplier_feeds/prestashop_combinations_import_semicolon.csv"), fmt)

    assert len(feed.rows) == 25
    assert set(reasons(feed)) == {23, 25}
    assert quantities(feed)["RP-Shuffle-Green"] == 12


def test_magento_catalog_import_reads_qty_from_an_80_column_row() -> None:
    feed = parse_feed(
        sample("supplier_feeds/magento_catalog_product_import_80cols.csv"),
        FeedFormat(mapping={"quantity": "qty", "title": "name"}),
    )

    assert feed.rows == [
        FeedRow(2, "example_simple_for_source_item", 150, title="Simple Product For Source Item")
    ]


def test_amazon_open_listings_blank_fba_quantities_are_reported_not_zeroed() -> None:
    feed = parse_feed(
        sample("amazon/open_listings_report_real_seller.tsv"), FeedFormat(mapping={"cost": "price"})
    )

    assert feed.rows_seen == 243
    assert len(feed.rows) == 61
    assert {e.reason for e in feed.errors} == {"quantity is missing"}
    assert feed.rows[0] == FeedRow(2, "OQ-5B1U-8LAN", 57, cost=Decimal("624.99"))


# --- X12 846 -------------------------------------------------------------------------------------


def test_846_example1_reads_noncommitted_shelf_stock_for_the_first_id() -> None:
    feed = parse_feed(sample("x12/846_4010_oopfactory_example1_tilde_brace.edi"), X12)

    # LIN has BP/EC/MF/MG ids and no VN/SK, so the first id (BP 46L5055) is the SKU;
    # QTY 34 (noncommitted inventory on shelf) is the sellable count; QH/QB/87 are not.
    assert feed.rows == [FeedRow(9, "46L5055", 5250)]
    assert feed.errors == []
    assert feed.as_of == dt.datetime(2004, 8, 11, 23, 0, tzinfo=UTC)  # DTM*007 ... 2300 GM


def test_846_example1_can_be_keyed_by_manufacturer_part_number() -> None:
    fmt = FeedFormat(kind="x12", mapping={"sku": "MG"})

    assert quantities(parse_feed(sample("x12/846_4010_oopfactory_example1_tilde_brace.edi"), fmt)) == {
        "1234123232": 5250
    }


def test_846_example2_rejects_fractional_feet_and_reports_the_glued_segments() -> None:
    feed = parse_feed(sample("x12/846_4010_oopfactory_example2_tilde_star_malformed.edi"), X12)

    assert feed.rows == [FeedRow(22, "I304/0250035Z", 7280, cost=Decimal("0.567"))]
    errors = reasons(feed)
    assert errors[5] == "quantity (QTY*17) '1998.61' is not a whole number"
    assert errors[9] == "quantity (QTY*17) '1777.18' is not a whole number"
    assert errors[18] == "quantity (QTY*17) '3621.25' is not a whole number"
    # REF~ZZ~ASIAQTY~17~403.32~FT swallowed the third item's on-hand quantity.
    assert errors[13].startswith("no stock quantity")
    assert "missing before 'QTY'" in errors[13]
    # QTY~17~7280~FTCTT~5 swallowed the CTT; the quantity itself is still clear.
    assert "missing before 'CTT'" in errors[0]
    assert feed.as_of == dt.datetime(2003, 8, 28, 0, 23, 46, 480000, tzinfo=UTC)  # BIA05 HHMMSSDD


def test_846_example2_floored_gives_every_readable_item() -> None:
    fmt = FeedFormat(kind="x12", decimal_quantities="floor")

    feed = parse_feed(sample("x12/846_4010_oopfactory_example2_tilde_star_malformed.edi"), fmt)

    assert quantities(feed) == {
        "H304L0750040": 1998,
        "H304L0750080": 1777,
        "H316L0750080": 3621,
        "I304/0250035Z": 7280,
    }
    assert [e.line for e in feed.errors] == [0, 13]


def test_846_5010_minimal_reads_available_quantity_as_of_the_gs_time() -> None:
    feed = parse_feed(sample("x12/846_5010_x12types_minimal_qty33.edi"), X12)

    assert feed.rows == [FeedRow(6, "ABC123", 100)]
    assert feed.errors == []
    assert feed.as_of == dt.datetime(2020, 1, 1, 12, 0, tzinfo=UTC)


# --- every X12 sample: envelope quirks --------------------------------------------------------------

X12_SAMPLES = sample_names("x12", "*.edi")


@pytest.mark.parametrize("name", X12_SAMPLES)
def test_every_x12_sample_splits_into_the_sets_its_name_announces(name: str) -> None:
    text = sample(f"x12/{name}").decode("utf-8").removeprefix("\ufeff")
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
            parse_feed(sample(f"x12/{name}"), X12)


ENVELOPE_NOTES = {
    "856_5010_x12types_minimal_bad_se_count.edi": [
        "segment 8: SE01 is '5' but segments counted from ST to SE is '6'"
    ],
    "865_4010_oopfactory_tyco_bad_iea.edi": ["segment 20: IEA02 is '00001660' but ISA13 is '000016680'"],
    "855_4010_oopfactory_simmons_two_sets.edi": [],
    "856_4000_stupidedi_mixed_terminators_INVALID.edi": [],
}


@pytest.mark.parametrize(("name", "expected"), sorted(ENVELOPE_NOTES.items()))
def test_envelope_problems_in_samples_are_found_and_clean_ones_pass(name: str, expected: list[str]) -> None:
    text = sample(f"x12/{name}").decode("utf-8").removeprefix("\ufeff")
    notes: list[str] = []

    walk_envelope(read_interchange(text).segments, notes)

    assert notes == expected
