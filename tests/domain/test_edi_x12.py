"""EDI X12 reading and writing: the shared samples, our own fixtures of the same shapes, 997s, round trips."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.edi import ack855, asn856, inv810, po850
from network.edi.fa997 import SetOutcome, read_997, write_997
from network.edi.x12 import (
    Envelope,
    Party,
    Separators,
    read_envelope,
    read_interchange,
    write_interchange,
)
from network.errors import InvalidFeed
from tests import samples

FIXTURES = samples.FIXTURES / "x12"


def envelope_of(data: bytes) -> Envelope:
    return read_envelope(read_interchange(data.decode("utf-8-sig")))


def sample(name: str) -> bytes:
    """One file of ../shared/samples/x12 (skips, or fails under REQUIRE_SAMPLES=1: tests/samples.py)."""
    return samples.sample(f"x12/{name}")


def summary(data: bytes) -> dict:
    """What a person checks in a file: each set's kind, whether it is clean, and its key figures."""
    env = envelope_of(data)
    sets = []
    for tset in env.sets:
        entry: dict = {"kind": tset.kind, "clean": tset.accepted}
        if tset.kind == "850":
            po, _ = po850.read_850(tset)
            entry["po"] = po.po_number
            entry["lines"] = [
                (line.line_no, line.quantity, line.vendor_part, line.unit_cost) for line in po.lines
            ]
        elif tset.kind == "855":
            ack, _ = ack855.read_855(tset)
            entry["po"] = ack.po_number
            entry["lines"] = [(line.line_no, line.status, line.quantity) for line in ack.lines]
        elif tset.kind == "856":
            asn, _ = asn856.read_856(tset)
            entry["orders"] = [
                (order.po_number, order.carrier, [(i.line_no, i.quantity, i.tracking) for i in order.items])
                for order in asn.orders
            ]
        elif tset.kind == "810":
            invoice, _ = inv810.read_810(tset)
            entry["invoice"] = (invoice.number, invoice.po_number, invoice.total)
            entry["lines"] = [(i.line_no, i.quantity, i.unit_price) for i in invoice.items]
        sets.append(entry)
    return {"sets": sets, "notes": env.notes}


# --- the shared samples, each with the outcome a person reading it would expect -----------------

SAMPLE_OUTCOMES = {
    "810_4010_indice_ariba_tabs.edi": {
        "invoice": ("DO091003TESTINV01", "DO091003", Decimal("365.96")),
        "lines": [(1, 2, Decimal("99.99")), (2, 2, Decimal("79.99"))],
    },
    "810_4010_oopfactory_walmart_crlf_terminator.edi": {
        "invoice": ("6463367", "3376103367", Decimal("3875.30")),
        "lines": [(None, 1080, Decimal("3.61"))],
    },
    "810_4010_stupidedi_pipe_separator.edi": {
        "invoice": ("00237058", "0691-0014403", Decimal("285.66")),
        "lines": [(None, 4, Decimal("70")), (None, 1, Decimal("5.66"))],
    },
    "850_4010VICS_nodex12_retail_po.edi": {
        "po": "08292233294",
        "lines": [
            (1, 120, "AB3542", Decimal("9.25")),
            (2, 220, "RD5322", Decimal("13.79")),
            (3, 126, "XY5266", Decimal("10.99")),
            (4, 76, "VX2332", Decimal("4.35")),
            (5, 72, "RV0524", Decimal("7.50")),
            (6, 696, "DX1875", Decimal("9.55")),
        ],
    },
    "850_4010_nodex12_petco_newline_terminated.edi": {
        "po": "----------",
        "lines": [(1, 1, "UNKNOWN", Decimal("225"))],
    },
    "850_4010_stupidedi_minimal_isa107.edi": {"po": "PO12345", "lines": [(1, 1, "VENDORSKU", Decimal("10"))]},
    "855_4000_stupidedi_brace_isa16.edi": {"po": "1D711419", "lines": [(1, "accepted", 72)]},
    "855_4010_nodex12_ack_line_status.edi": {
        "po": "POTEST1112",
        "lines": [(1, "accepted", 3), (2, "rejected", 0), (3, "rejected", 0), (4, "accepted", 2)],
    },
    "856_4060_nodex12_isa11_dash.edi": {
        "orders": [("99999817", "XXXX", [(1, 24, "5787970539"), (2, 6, "5787970539")])]
    },
    "856_4010_oopfactory_tilde_elements_backtick.edi": {
        "orders": [("123456", "", [(1, 16, "123456"), (2, 23, "123456"), (4, 16, "123456")])]
    },
}


@pytest.mark.parametrize("name", sorted(SAMPLE_OUTCOMES))
def test_each_sample_reads_to_the_figures_a_person_sees_in_it(name: str) -> None:
    read = summary(sample(name))

    assert len(read["sets"]) == 1
    first = read["sets"][0]
    assert first["clean"] is True
    for key, expected in SAMPLE_OUTCOMES[name].items():
        assert first[key] == expected


def test_missing_isa16_sample_yields_both_purchase_orders_and_every_line() -> None:
    read = summary(sample("850_4010_indice_issue135_missing_isa16.edi"))

    assert [s["po"] for s in read["sets"]] == ["740150", "740151"]
    assert [len(s["lines"]) for s in read["sets"]] == [10, 11]
    assert read["sets"][0]["lines"][0] == (10, 13200, "", None)  # empty price stays unknown
    assert read["notes"] == []


def test_nbsp_padded_isa_reads_and_its_wrong_iea_is_reported() -> None:
    read = summary(sample("850_4010_indice_nbsp_bom_tabs.edi"))

    assert read["sets"][0]["po"] == "4600000406"
    assert [line[1] for line in read["sets"][0]["lines"]] == [2500, 2000, 1000]
    assert read["notes"] == ["segment 54: IEA02 is '000000001' but ISA13 is '000000055'"]


def test_two_855_sets_in_one_group_are_read_apart() -> None:
    read = summary(sample("855_4010_oopfactory_simmons_two_sets.edi"))

    assert [(s["po"], s["lines"]) for s in read["sets"]] == [
        ("7542", [(100, "accepted", 1), (200, "accepted", 1)]),
        ("99035", [(100, "accepted", 1)]),
    ]


def test_pack_level_and_cross_dock_856s_ship_each_order_with_its_items() -> None:
    pack = summary(sample("856_4010VICS_oopfactory_pack_level.edi"))["sets"][0]
    cross = summary(sample("856_4010_ediengine_crossdock_SOPI.edi"))["sets"][0]

    assert pack["orders"] == [("SO/VINCE1", "FED2", [(None, 1, "521649209219")])]
    assert [(po, carrier, sum(q for _, q, _ in items)) for po, carrier, items in cross["orders"]] == [
        ("POREF00", "OVNT", 48),
        ("POREF01", "OVNT", 12),
    ]


def test_mixed_terminator_sample_is_reported_and_its_set_not_clean() -> None:
    read = summary(sample("856_4000_stupidedi_mixed_terminators_INVALID.edi"))

    assert read["sets"][0]["clean"] is False
    assert read["notes"][0] == "segment 13 ends with '~' but the ISA declares '$' as the segment terminator"


def test_bad_se_count_sample_gets_a_rejecting_997() -> None:
    env = envelope_of(sample("856_5010_x12types_minimal_bad_se_count.edi"))
    tset = env.sets[0]
    body = write_997(env.groups[0], [SetOutcome(tset, rejected=True)], Separators())

    assert tset.errors == ["4"]
    assert body[-2:] == [["AK5", "R", "4"], ["AK9", "R", "1", "1", "0"]]


@pytest.mark.parametrize(
    "name", ["865_4010_oopfactory_advanceauto_qty_change.edi", "865_4010_oopfactory_mclane_po_change_ack.edi"]
)
def test_865_samples_read_as_one_clean_865_set(name: str) -> None:
    read = summary(sample(name))

    assert [(s["kind"], s["clean"]) for s in read["sets"]] == [("865", True)]


def test_bad_iea_sample_is_read_and_its_envelope_error_named() -> None:
    read = summary(sample("865_4010_oopfactory_tyco_bad_iea.edi"))

    assert read["notes"] == ["segment 20: IEA02 is '00001660' but ISA13 is '000016680'"]


def test_set_without_an_interchange_is_refused_with_the_reason() -> None:
    data = sample("870_5010_x12types_set_only_SYNTHETIC.edi")

    with pytest.raises(InvalidFeed, match="must start with an ISA segment"):
        envelope_of(data)


def test_every_sample_in_the_folder_has_an_expected_outcome_here() -> None:
    samples.require_samples()
    covered = set(SAMPLE_OUTCOMES) | {
        "850_4010_indice_issue135_missing_isa16.edi",
        "850_4010_indice_nbsp_bom_tabs.edi",
        "855_4010_oopfactory_simmons_two_sets.edi",
        "856_4010VICS_oopfactory_pack_level.edi",
        "856_4010_ediengine_crossdock_SOPI.edi",
        "856_4000_stupidedi_mixed_terminators_INVALID.edi",
        "856_5010_x12types_minimal_bad_se_count.edi",
        "865_4010_oopfactory_advanceauto_qty_change.edi",
        "865_4010_oopfactory_mclane_po_change_ack.edi",
        "865_4010_oopfactory_tyco_bad_iea.edi",
        "870_5010_x12types_set_only_SYNTHETIC.edi",
        # 846s: tests/domain/test_feed_samples.py reads them as stock feeds.
        "846_4010_oopfactory_example1_tilde_brace.edi",
        "846_4010_oopfactory_example2_tilde_star_malformed.edi",
        "846_5010_x12types_minimal_qty33.edi",
    }
    assert set(samples.sample_names("x12", "*.edi")) == covered


# --- our own fixtures: the same shapes, so a fresh clone tests them ------------------------------

ACK_LINES = [(1, "accepted", 2), (2, "rejected", 0), (3, "backordered", 4)]
ASN_ORDERS = [("1001", "UPSN", [(1, 2, "1Z999AA10123456784"), (3, 4, "1Z999AA10123456791")])]
INVOICE = ("INV-9", "1001", Decimal("50"))


@pytest.mark.parametrize(
    ("name", "clean", "key", "expected"),
    [
        ("855_tabs_bom.edi", True, "lines", ACK_LINES),
        ("855_missing_isa16.edi", True, "lines", ACK_LINES),
        ("856_brace_crlf.edi", True, "orders", ASN_ORDERS),
        ("856_pipe_backtick.edi", True, "orders", ASN_ORDERS),
        ("810_crlf_only.edi", True, "invoice", INVOICE),
        ("810_bad_iea.edi", True, "invoice", INVOICE),
        ("856_bad_se_count.edi", False, "orders", ASN_ORDERS),
        ("856_mixed_terminators.edi", False, "orders", ASN_ORDERS),
    ],
)
def test_fixture_shapes_read_the_same_figures(name: str, clean: bool, key: str, expected: object) -> None:
    read = summary((FIXTURES / name).read_bytes())

    assert read["sets"][0]["clean"] is clean
    assert read["sets"][0][key] == expected


def test_fixture_envelope_errors_are_named() -> None:
    assert summary((FIXTURES / "810_bad_iea.edi").read_bytes())["notes"] == [
        "segment 11: IEA02 is '000000999' but ISA13 is '000000101'"
    ]
    assert summary((FIXTURES / "856_bad_se_count.edi").read_bytes())["notes"] == [
        "segment 22: SE01 is '7' but segments counted from ST to SE is '20'"
    ]
    assert summary((FIXTURES / "856_mixed_terminators.edi").read_bytes())["notes"][0] == (
        "segment 6 ends with '~' but the ISA declares '$' as the segment terminator"
    )


def test_newline_terminated_fixture_holds_two_sets_and_a_header_rejection() -> None:
    read = summary((FIXTURES / "855_two_sets_newline.edi").read_bytes())

    assert [s["po"] for s in read["sets"]] == ["1001", "1002"]
    assert read["sets"][1]["lines"] == [(1, "rejected", 1)]


FIXTURE_OUTCOMES = {
    # 107-character ISA (ISA08 padded to 16), VICS version, CB/PR/VN ids in any order.
    "850_vics_isa107.edi": {
        "po": "SC-7001",
        "lines": [
            (1, 3, "NW-BOLT-M8", Decimal("4.20")),
            (2, 10, "NW-NUT-M8", Decimal("0.35")),
            (3, 1, "NW-DRILL-5", Decimal("18")),
            (4, 2, "NW-SAW", Decimal("7.99")),
            (5, 6, "NW-WASHER", Decimal("1.05")),
            (6, 4, "NW-CLAMP", Decimal("12.5")),
        ],
    },
    # A line feed is the only terminator; PO101 empty, so lines are numbered by position.
    "850_newline_only.edi": {
        "po": "XXXXXXXX",
        "lines": [(1, 2, "NW-KIT-A", Decimal("31.5")), (2, 1, "NW-KIT-B", Decimal("15"))],
    },
    # ISA16 '{', a password in ISA03/04, a 9-digit ST02, ACK with two dozen empty elements.
    "855_brace_isa16.edi": {"po": "SC-7001", "lines": [(1, "accepted", 3), (2, "rejected", 0)]},
    # ISA11 '-', ISA12 00406, S/O/I with no packs.
    "856_isa11_dash_soi.edi": {
        "orders": [("SC-7001", "FDEG", [(1, 3, "7489001122"), (2, 10, "7489001122")])]
    },
    # Cross-dock S/O/P/I, newline-terminated, empty LIN01: each order ships its own items.
    "856_crossdock_newline.edi": {
        "orders": [
            ("SC-7010", "ODFL", [(None, 30, "SHIP-702"), (None, 6, "SHIP-702")]),
            ("SC-7011", "ODFL", [(None, 9, "SHIP-702")]),
        ]
    },
    # '|' elements, IT1 keyed by EN with IT103 empty, TDS in implied cents (1610 = 16.10).
    "810_pipe_en_ids.edi": {
        "invoice": ("INV-801", "SC-7001", Decimal("16.1")),
        "lines": [(None, 3, Decimal("4.20")), (None, 10, Decimal("0.35"))],
    },
    # CRLF as the only terminator and ISA16 ':'.
    "865_crlf_colon.edi": {"kind": "865"},
}


@pytest.mark.parametrize("name", sorted(FIXTURE_OUTCOMES))
def test_each_fixture_reads_to_the_figures_written_in_it(name: str) -> None:
    read = summary((FIXTURES / name).read_bytes())

    assert len(read["sets"]) == 1
    assert read["notes"] == []
    first = read["sets"][0]
    assert first["clean"] is True
    for key, expected in FIXTURE_OUTCOMES[name].items():
        assert first[key] == expected


def test_missing_isa16_fixture_yields_both_purchase_orders_and_every_line() -> None:
    read = summary((FIXTURES / "850_missing_isa16_two_sets.edi").read_bytes())

    assert [s["po"] for s in read["sets"]] == ["SC-7004", "SC-7005"]
    assert [len(s["lines"]) for s in read["sets"]] == [2, 1]
    assert read["sets"][0]["lines"][0] == (10, 40, "NW-TILE-W", None)  # empty price stays unknown
    assert read["notes"] == []


def test_nbsp_padded_isa_fixture_reads_and_its_wrong_iea_is_reported() -> None:
    read = summary((FIXTURES / "850_nbsp_bom_tabs_bad_iea.edi").read_bytes())

    assert read["sets"][0]["po"] == "SC-7003"
    assert [line[1] for line in read["sets"][0]["lines"]] == [250, 120]
    assert read["notes"] == ["segment 10: IEA02 is '000000005' but ISA13 is '000000503'"]


def test_bad_iea_865_fixture_is_read_and_its_envelope_error_named() -> None:
    read = summary((FIXTURES / "865_bad_iea.edi").read_bytes())

    assert [(s["kind"], s["clean"]) for s in read["sets"]] == [("865", True)]
    assert read["notes"] == ["segment 9: IEA02 is '00009021' but ISA13 is '000009021'"]


def test_set_without_an_interchange_fixture_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidFeed, match="must start with an ISA segment"):
        envelope_of((FIXTURES / "870_set_only.edi").read_bytes())


def test_every_fixture_in_the_folder_is_read_by_a_test() -> None:
    covered = set(FIXTURE_OUTCOMES) | {
        "810_bad_iea.edi",
        "810_crlf_only.edi",
        "850_missing_isa16_two_sets.edi",
        "850_nbsp_bom_tabs_bad_iea.edi",
        "855_missing_isa16.edi",
        "855_tabs_bom.edi",
        "855_two_sets_newline.edi",
        "856_bad_se_count.edi",
        "856_brace_crlf.edi",
        "856_mixed_terminators.edi",
        "856_pipe_backtick.edi",
        "865_bad_iea.edi",
        "870_set_only.edi",
        # 846s: tests/domain/test_feed_fixtures.py reads them as stock feeds.
        "846_4010_tilde_brace_bom.edi",
        "846_4010_tilde_star_glued.edi",
        "846_5010_minimal_qty33.edi",
    }
    assert {p.name for p in FIXTURES.glob("*.edi")} == covered


def test_997_for_a_clean_group_accepts_every_set_and_reads_back() -> None:
    env = envelope_of((FIXTURES / "855_two_sets_newline.edi").read_bytes())
    body = write_997(env.groups[0], [SetOutcome(s, rejected=False) for s in env.sets], Separators())
    text = write_interchange(
        sender=Party("ZZ", "DROPNET"),
        receiver=Party("ZZ", "VENDOR1"),
        functional_id="FA",
        version="004010",
        interchange_control=5,
        group_control=5,
        sets=[("997", 5, body)],
        at=dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC),
    )
    back = read_997(read_envelope(read_interchange(text)).sets[0])

    assert (back.functional_id, back.group_control, back.group_status) == ("PR", "101", "A")
    assert back.sets == {"0001": "A", "0002": "A"}


# --- writing: what we write, we read back identically -----------------------------------------


def test_written_isa_is_fixed_width_with_the_chosen_separators() -> None:
    seps = Separators(element="|", component="`", terminator="}", repetition="^")
    text = write_interchange(
        sender=Party("ZZ", "DROPNET"),
        receiver=Party("01", "123456789"),
        functional_id="PO",
        version="005010",
        interchange_control=42,
        group_control=42,
        sets=[("850", 42, [["BEG", "00", "DS", "1", "", "20261207"]])],
        at=dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC),
        seps=seps,
    )
    isa = text.split("}")[0]
    env = read_envelope(read_interchange(text))

    assert len(isa) + 1 == 106  # the standard width, terminator included
    assert isa.endswith("|00501|000000042|0|P|`")
    assert env.notes == []
    assert (env.control, env.groups[0].control, env.sets[0].control) == ("000000042", "42", "0042")


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
gtins = st.one_of(st.none(), st.from_regex(r"\A[0-9]{12,14}\Z", fullmatch=True))
costs = st.one_of(
    st.none(), st.decimals(min_value=0, max_value=Decimal("99999999.9999"), places=4, allow_nan=False)
)
moments = st.one_of(
    st.none(),
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 1, 1), timezones=st.just(dt.UTC)
    ),
)
separators = st.sampled_from(
    [
        Separators(),
        Separators("|", "`", "}", "^"),
        Separators("~", ">", "*", "^"),
        Separators("*", ":", "~", "!"),
    ]
)


@st.composite
def purchase_orders(draw: st.DrawFn) -> po850.Po850:
    count = draw(st.integers(1, 8))
    lines = tuple(
        po850.PoLine(
            i + 1,
            draw(st.integers(1, 10**6)),
            draw(texts),
            draw(costs),
            draw(gtins),
            draw(texts),
        )
        for i in range(count)
    )
    return po850.Po850(
        po_number=str(draw(st.integers(1, 10**9))),
        order_date=draw(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))),
        retailer_reference=draw(texts),
        ship_to=po850.ShipTo(draw(texts), draw(texts), draw(texts), draw(texts), draw(texts), draw(texts)),
        lines=lines,
        ack_by=draw(moments),
        ship_by=draw(moments),
    )


@settings(max_examples=150, deadline=None)
@given(po=purchase_orders(), seps=separators, control=st.integers(1, 999999999))
def test_an_850_we_write_reads_back_as_the_same_order(
    po: po850.Po850, seps: Separators, control: int
) -> None:
    text = write_interchange(
        sender=Party("ZZ", "DROPNET"),
        receiver=Party("ZZ", "VENDOR"),
        functional_id="PO",
        version="004010",
        interchange_control=control,
        group_control=control,
        sets=[("850", control, po850.write_850(po, seps))],
        at=dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC),
        seps=seps,
    )
    env = read_envelope(read_interchange(text))
    back, problems = po850.read_850(env.sets[0])

    assert env.notes == [] and env.sets[0].accepted
    assert problems == []
    assert back == po850.cleaned(po, seps)
