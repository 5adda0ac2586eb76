"""The console's mapping import: the CSV reader (properties), the preview with per-row errors, the
confirmation that applies it, bad files, roles and tenant isolation."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.catalog.gtin import gtin_check_digit
from network.catalog.mapping_import import MappingRow, apply_mappings, plan_mappings, read_mappings
from network.catalog.models import RetailerItem, VendorVariant
from network.catalog.skus import normal_sku
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.partners import services as partners
from network.partners.audit import Actor, AuditEntry
from network.uploads.models import UploadDraft
from tests.builders import gtin13, make_item, make_variant, unique
from tests.console.test_catalog import item_of, sources, token
from tests.console.test_vendors import sign_in_as
from tests.portal.conftest import fresh

HEADER = ["retailer_sku", "title", "vendor_id", "vendor_sku", "gtin", "priority"]

# --- the reader, on its own -------------------------------------------------------------------------

_sku_chars = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Co", "Zl", "Zp", "Zs"), exclude_characters="\ufeff"
)
skus = st.text(_sku_chars, min_size=1, max_size=30)
titles = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=40).map(str.strip)


@st.composite
def gtins(draw) -> str:
    body = draw(st.sampled_from([7, 11, 12, 13]))
    digits = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=body, max_size=body)))
    return digits + str(gtin_check_digit(digits))


@st.composite
def valid_rows(draw) -> list[dict]:
    """Rows a person could write, each naming a distinct item (so none contradicts another)."""
    count = draw(st.integers(1, 8))
    names = draw(st.lists(skus, min_size=count, max_size=count, unique_by=normal_sku))
    rows = []
    for name in names:
        kind = draw(st.sampled_from(["sku", "gtin", "alone"]))
        row = {
            "retailer_sku": name,
            "title": draw(titles),
            "vendor_id": "" if kind == "alone" else str(draw(st.integers(1, 10**6))),
            "vendor_sku": draw(skus) if kind == "sku" else "",
            "gtin": draw(gtins()) if kind != "sku" else "",
            "priority": "" if kind == "alone" else draw(st.sampled_from(["", "0", "7", "1000000"])),
        }
        rows.append(row)
    return rows


def to_csv(rows: list[dict], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


@settings(max_examples=150, deadline=None)
@given(valid_rows(), st.sampled_from([",", ";", "\t"]))
def test_what_a_valid_row_says_is_what_is_read(rows, delimiter):
    read, errors = read_mappings(to_csv(rows, delimiter))
    assert errors == []
    assert [
        MappingRow(
            line=r.line,
            retailer_sku=r.retailer_sku,
            title=r.title,
            vendor_id=r.vendor_id,
            vendor_sku=r.vendor_sku,
            gtin=r.gtin,
            priority=r.priority,
        )
        for r in read
    ] == read
    for row, said in zip(read, rows, strict=True):
        assert row.retailer_sku == normal_sku(said["retailer_sku"])  # stripped, NFC: as stored
        assert row.title == (said["title"] or None)
        assert row.vendor_id == (int(said["vendor_id"]) if said["vendor_id"] else None)
        assert row.vendor_sku == (normal_sku(said["vendor_sku"]) or None)
        assert row.gtin == (said["gtin"] or None)
        assert row.priority == (int(said["priority"]) if said["priority"] else None)


cells = st.text(max_size=20) | st.sampled_from(
    ["", "0", "-1", "1e9", "4006381333931", "x" * 120, '"', "\u202e"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(cells, max_size=8), min_size=1, max_size=10))
def test_garbage_rows_under_a_good_header_are_row_errors_never_an_exception(records):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # quotes a cell holding \r or \n
    writer.writerow(HEADER)
    writer.writerows(records)
    try:
        rows, errors = read_mappings(out.getvalue().encode())
    except InvalidInput as exc:  # only a file that is not text at all (e.g. a NUL byte)
        assert "\x00" in out.getvalue(), exc.detail
        return
    assert all(e.reason for e in errors)
    assert len(rows) + len(errors) <= len(records)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_with_a_message(data):
    try:
        read_mappings(data)
    except InvalidInput as exc:
        assert exc.errors["file"] and exc.detail


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("R1,,1,V1,4006381333931,0", "not both"),
        ("R1,,1,,,0", "a vendor_sku or a gtin"),
        ("R1,,,V1,,", "say whose, in vendor_id"),
        ("R1,,abc,V1,,", "is not a vendor's id"),
        ("R1,,1,,4006381333932,", "not a valid GTIN"),
        ("R1,,1,V1,,-3", "is not a whole number"),
        ("R1,,1,V1,,1000001", "is not a whole number"),
        (",,1,V1,,", "retailer_sku: must be 1 to 100"),
        ("R1,,,,4006381333931,5", "this row names no vendor"),
    ],
)
def test_each_bad_row_says_why(line, reason):
    rows, errors = read_mappings(f"{','.join(HEADER)}\n{line}\n".encode())
    assert rows == []
    (error,) = errors
    assert error.line == 2 and reason in error.reason


def test_rows_that_contradict_an_earlier_one_are_errors():
    text = "\n".join(
        [
            ",".join(HEADER),
            "R1,Lamp,1,V1,,0",
            "R1,Lamp,1,V1,,3",  # the same mapping again
            "R1,Other,1,V2,,1",  # another title for R1
            "R1,,2,V9,,2",
        ]
    )
    rows, errors = read_mappings(text.encode())
    assert [(r.line, r.vendor_sku) for r in rows] == [(2, "V1"), (5, "V9")]
    assert [(e.line, e.reason) for e in errors] == [
        (3, "the same mapping is also on line 2"),
        (4, "title: line 2 gives R1 another title"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
        (b"sku,qty\nA,1\n", "does not know: 'sku'"),
        (b"title,vendor_id\nx,1\n", "no retailer_sku column"),
        (b"retailer_sku,title\nA,x\n", "neither a vendor_id nor a gtin"),
        (b"retailer_sku,vendor_id,vendor_id\nA,1,1\n", "appears twice"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_one_message(data, message):
    with pytest.raises(InvalidInput) as refused:
        read_mappings(data)
    assert message in refused.value.detail


def test_a_windows_file_with_a_bom_semicolons_and_accents_is_read():
    text = "\ufeffRetailer SKU;Title;Vendor ID;Vendor SKU;GTIN;Priority\r\nCAFÉ-1;Café;4;V-1;;2\r\n"
    (row,), errors = read_mappings(text.encode("utf-8"))
    assert errors == [] and (row.retailer_sku, row.title, row.vendor_id, row.priority) == (
        "CAFÉ-1",
        "Café",
        4,
        2,
    )
    (row,), _ = read_mappings(text.replace("\ufeff", "").encode("cp1252"))
    assert row.title == "Café"


# --- the pages ------------------------------------------------------------------------------------


def upload(client, data: bytes, name: str = "mappings.csv"):
    return client.post(
        "/console/catalog/import",
        data={"csrf_token": token(client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_an_import_previews_what_would_change_with_row_errors_then_applies_on_confirmation(
    client, session, network
):
    retailer = network.retailer
    first, second = network.vendors
    mug_gtin = gtin13(9001)
    mug = make_variant(session, first, sku="MUG-1", gtin=mug_gtin)
    cup = make_variant(session, second, sku="CUP-1")
    kept = make_variant(session, first, sku="KEPT-1")
    existing = make_item(session, retailer, [kept], sku="OLD-1")
    outsider = network.retailers[1]  # an organization, but not a vendor this retailer is connected to
    lamp_gtin = gtin13(9002)
    text = "\n".join(
        [
            ",".join(HEADER),
            f"NEW-1,New mug,{first.id},,{mug_gtin},0",  # a new item, its source named by GTIN
            f"NEW-1,,{second.id},CUP-1,,1",  # a second source for the same new item
            f"{existing},,{first.id},KEPT-1,,5",  # a priority change
            f"LAMP-1,Lamp,,,{lamp_gtin},",  # the item alone, for auto-match later
            f"BAD-1,,{first.id},NOPE,,0",  # no such variant
            f"BAD-2,,{outsider.id},X,,0",  # not a connected vendor
            f"BAD-3,,{first.id},,{gtin13(9003)},0",  # no variant of that GTIN
            "BAD-4,,1,V,,high",  # a bad priority
        ]
    )
    sign_in_as(client, session, retailer.id, "operator")
    staged = upload(client, text.encode())
    assert staged.status_code == 302
    preview = client.get(staged.headers["Location"])
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "4 rows would apply" in html and "4 rows would be rejected" in html
    assert "<strong>2</strong> new item(s)" in html and "<strong>1</strong> new source(s)" in html
    assert "<strong>1</strong> priority change(s)" in html and "0 → 5" in html
    assert "vendor " + str(first.id) + " has no variant &#39;NOPE&#39;" in html
    assert f"you are not connected to vendor {outsider.id}" in html
    assert "has no variant of GTIN" in html and "is not a whole number" in html
    # Nothing changed yet.
    assert item_of(session, retailer.id, "NEW-1") is None
    assert sources(session, retailer.id, existing) == {kept: 0}

    applied = client.post(staged.headers["Location"], data={"csrf_token": csrf_of_page(client, staged)})
    assert applied.status_code == 302 and applied.headers["Location"] == "/console/catalog"
    assert sources(session, retailer.id, "NEW-1") == {mug: 0, cup: 1}
    new = item_of(session, retailer.id, "NEW-1")
    assert (new.title, new.gtin) == ("New mug", mug_gtin)
    assert sources(session, retailer.id, existing) == {kept: 5}
    lamp = item_of(session, retailer.id, "LAMP-1")
    assert (lamp.title, lamp.gtin, lamp.sources) == ("Lamp", lamp_gtin, [])
    for bad in ("BAD-1", "BAD-2", "BAD-3", "BAD-4"):
        assert item_of(session, retailer.id, bad) is None
    page = client.get("/console/catalog").get_data(as_text=True)
    assert "4 row(s) applied (2 item(s) created, 2 source(s) added, 1 priority changed), 4 rejected" in page
    assert session.query(UploadDraft).count() == 0  # the file is gone once applied
    entry = session.query(AuditEntry).filter_by(org_id=retailer.id, action="catalog.mappings_imported").one()
    assert entry.after["items_created"] == 2 and entry.actor.startswith("user operator")

    # The lamp's GTIN: once a connected vendor offers it, auto-match suggests it.
    offered = make_variant(session, second, gtin=lamp_gtin)
    matches = client.get("/console/catalog/gtin-matches").get_data(as_text=True)
    assert f'value="{lamp.id}:{offered}"' in matches


def csrf_of_page(client, response) -> str:
    from tests.portal.conftest import csrf_of

    return csrf_of(client.get(response.headers["Location"]).get_data(as_text=True))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "choose a file"),
        (b"\x00\x01\x02garbage", "not a CSV file"),
        (b"what,ever\n1,2\n", "does not know"),
    ],
)
def test_a_bad_file_gets_a_plain_message_and_nothing_is_kept(client, session, network, data, message):
    sign_in_as(client, session, network.retailer.id, "owner")
    response = (
        upload(client, data)
        if data
        else client.post(
            "/console/catalog/import", data={"csrf_token": token(client)}, content_type="multipart/form-data"
        )
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    fresh(session)
    assert session.query(UploadDraft).count() == 0


def test_discarding_a_file_changes_nothing(client, session, network):
    vendor_sku = unique("V")
    make_variant(session, network.vendor, sku=vendor_sku)
    sign_in_as(client, session, network.retailer.id, "owner")
    staged = upload(client, f"{','.join(HEADER)}\nD-1,,{network.vendor.id},{vendor_sku},,0\n".encode())
    draft_id = int(staged.headers["Location"].rsplit("/", 1)[1])
    discarded = client.post(
        f"/console/catalog/import/{draft_id}/discard", data={"csrf_token": csrf_of_page(client, staged)}
    )
    assert discarded.status_code == 302
    fresh(session)
    assert session.query(UploadDraft).count() == 0 and item_of(session, network.retailer.id, "D-1") is None


def test_a_viewer_cannot_import_and_another_organizations_file_is_404(client, session, network):
    first, second = network.retailers
    variant_sku = unique("V")
    make_variant(session, network.vendor, sku=variant_sku)
    text = f"{','.join(HEADER)}\nI-1,,{network.vendor.id},{variant_sku},,0\n".encode()
    sign_in_as(client, session, second.id, "operator")
    theirs = int(upload(client, text).headers["Location"].rsplit("/", 1)[1])
    client.post("/console/logout", data={"csrf_token": token(client)})
    sign_in_as(client, session, first.id, "operator")
    ours = int(upload(client, text).headers["Location"].rsplit("/", 1)[1])
    client.post("/console/logout", data={"csrf_token": token(client)})

    sign_in_as(client, session, first.id, "viewer")
    csrf = token(client)
    assert 'type="file"' not in client.get("/console/catalog/import").get_data(as_text=True)
    preview = client.get(f"/console/catalog/import/{ours}")
    assert preview.status_code == 200 and "Apply this file" not in preview.get_data(as_text=True)
    refused = client.post(
        "/console/catalog/import",
        data={"csrf_token": csrf, "file": (io.BytesIO(text), "m.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
    assert client.post(f"/console/catalog/import/{ours}", data={"csrf_token": csrf}).status_code == 403
    assert (
        client.post(f"/console/catalog/import/{ours}/discard", data={"csrf_token": csrf}).status_code == 403
    )
    assert client.get(f"/console/catalog/import/{theirs}").status_code == 404
    assert client.post(f"/console/catalog/import/{theirs}", data={"csrf_token": csrf}).status_code == 404
    assert (
        client.post(f"/console/catalog/import/{theirs}/discard", data={"csrf_token": csrf}).status_code == 404
    )
    fresh(session)
    assert session.query(UploadDraft).count() == 2
    assert item_of(session, first.id, "I-1") is None and item_of(session, second.id, "I-1") is None


# --- what a valid row says is what is applied (the database, not only the reader) --------------------

POOL = [("PV-1", gtin13(9101)), ("PV-2", gtin13(9102)), ("PV-3", None)]


@st.composite
def mapping_files(draw) -> list[dict]:
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        sku, gtin = draw(st.sampled_from(POOL + [("PV-NONE", gtin13(9199))]))
        by = draw(st.sampled_from(["sku", "gtin", "alone"] if gtin else ["sku", "alone"]))
        rows.append(
            {
                "retailer_sku": draw(st.sampled_from(["A", "B", "C"])),
                "title": draw(st.sampled_from(["", "Lamp", "Chair"])),
                "vendor_id": "" if by == "alone" else "{vendor}",
                "vendor_sku": sku if by == "sku" else "",
                "gtin": gtin if by in ("gtin", "alone") else "",
                "priority": "" if by == "alone" else draw(st.sampled_from(["", "0", "4"])),
            }
        )
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=st.lists(mapping_files(), min_size=1, max_size=2))
def test_applying_files_leaves_exactly_what_their_valid_rows_say(session, network, files):
    vendor = network.vendor
    variants = {}
    for sku, gtin in POOL:
        found = session.query(VendorVariant).filter_by(vendor_id=vendor.id, vendor_sku=sku).one_or_none()
        variants[sku] = found.id if found else make_variant(session, vendor, sku=sku, gtin=gtin)
    with transaction(session):  # a retailer of its own for each example: nothing left from another
        retailer = partners.create_organization(session, kind="retailer", name=unique("R"), now=utcnow())
        partners.connect(session, retailer_id=retailer.id, vendor_id=vendor.id, now=utcnow())
    expected: dict[str, dict] = {}
    for rows in files:
        data = to_csv([{**r, "vendor_id": r["vendor_id"].format(vendor=vendor.id)} for r in rows])
        valid, errors = read_mappings(data)
        plan = plan_mappings(session, retailer_id=retailer.id, rows=valid, errors=errors)
        applied = {row.line for row, _ in plan.resolved}
        for row in valid:
            if row.line not in applied:
                assert row.vendor_sku == "PV-NONE" or row.gtin == gtin13(9199)
                continue
            item = expected.setdefault(row.retailer_sku, {"title": "", "gtin": None, "sources": {}})
            item["title"] = row.title or item["title"]
            item["gtin"] = row.gtin or item["gtin"]
            if row.vendor_id:
                variant = (
                    variants[row.vendor_sku]
                    if row.vendor_sku
                    else next(variants[s] for s, g in POOL if g == row.gtin)
                )
                if row.priority is not None or variant not in item["sources"]:
                    item["sources"][variant] = row.priority or 0
        session.rollback()
        with transaction(session):
            apply_mappings(
                session, retailer_id=retailer.id, data=data, filename="f.csv", actor=Actor(), now=utcnow()
            )
    fresh(session)
    items = session.query(RetailerItem).filter_by(retailer_id=retailer.id).all()
    assert {
        i.retailer_sku: {
            "title": i.title,
            "gtin": i.gtin,
            "sources": {s.variant_id: s.priority for s in i.sources},
        }
        for i in items
    } == expected
