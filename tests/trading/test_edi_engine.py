"""The EDI engine without a transport: setup through the vendor API, 850s written with increasing
control numbers, and a vendor's 997, 855, 856 and 810 applied through the order services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.clock import utcnow
from network.db import transaction
from network.edi.fa997 import read_997
from network.edi.po850 import cleaned, read_850
from network.edi.x12 import read_envelope, read_interchange
from network.flags.models import EDI_UNACKNOWLEDGED, INVOICE_MISMATCH, Flag
from network.trading import inbound, outbound, partners
from network.trading.models import EdiFile, EdiPurchaseOrder, TradingPartner
from tests.order_helpers import place, po_of, stocked_item
from tests.trading.helpers import SETUP, ack_855, advice_846, asn_856, fa_997, invoice_810

HOLD = dt.timedelta(hours=24)


@pytest.fixture
def edi(app, session, network):
    app.config["HUB_FEED_ALLOW_PRIVATE"] = True
    retailer, vendor = network.retailer, network.vendor
    response = vendor.api.put("/vendor-api/v1/edi", json=SETUP)
    assert response.status_code == 200, response.get_data(as_text=True)
    _, desk = stocked_item(
        session, vendor, [retailer], 1000, sku="DESK-1", gtin="0012345678905", cost=Decimal("12.50")
    )
    _, lamp = stocked_item(session, vendor, [retailer], 1000, sku="LAMP-2", cost=Decimal("4.00"))
    order = place(retailer, [(desk, 3), (lamp, 2)], reference="WEB-1001").get_json()
    po_id = order["purchase_orders"][0]["id"]
    return dict(
        retailer=retailer, vendor=vendor, po=po_id, lines=po_of(vendor, po_id)["lines"], sku=desk, lamp=lamp
    )


def partner(session, vendor) -> TradingPartner:
    return session.scalar(sa.select(TradingPartner).where(TradingPartner.vendor_id == vendor.id))


def drop(session, vendor, name: str, data: bytes):
    with transaction(session):
        return inbound.receive(session, partner(session, vendor), name, data, now=utcnow(), hold_for=HOLD)


def queue(session) -> list[EdiFile]:
    with transaction(session):
        outbound.queue_purchase_orders(session, now=utcnow())
    return list(
        session.scalars(
            sa.select(EdiFile).where(EdiFile.direction == "out", EdiFile.name.like("dropnet_850_%"))
        )
    )


def test_setup_is_shown_without_its_credentials_and_bad_setups_are_422(edi, app):
    vendor = edi["vendor"]
    shown = vendor.api.get("/vendor-api/v1/edi").get_json()
    assert shown["isa_id"] == "ACMEVENDOR" and shown["hub_isa_id"] == "DROPNET"
    assert "s3cret-pass" not in str(shown) and shown["transport"]["auth"] == "configured"
    bad = vendor.api.put(
        "/vendor-api/v1/edi",
        json={**SETUP, "isa_qualifier": "Q!", "separators": {"element": "*", "terminator": "*"}},
    )
    assert bad.status_code == 422
    assert {"isa_qualifier", "separators"} <= set(bad.get_json()["errors"])
    app.config["HUB_FEED_ALLOW_PRIVATE"] = False
    app.config["HUB_FEED_ALLOWED_HOSTS"] = "sftp.example.com"
    refused = vendor.api.put("/vendor-api/v1/edi", json=SETUP)
    assert refused.status_code == 422 and "transport.host" in refused.get_json()["errors"]
    assert vendor.api.get("/vendor-api/v1/edi").get_json()["updated_at"] == shown["updated_at"]


def test_each_purchase_order_becomes_one_850_with_increasing_control_numbers(edi, session, network):
    retailer = edi["retailer"]
    files = queue(session)
    assert len(files) == 1
    envelope = read_envelope(read_interchange(files[0].raw))
    po, problems = read_850(envelope.sets[0])
    assert problems == [] and po.po_number == str(edi["po"]) and po.retailer_reference == "WEB-1001"
    assert [(line.vendor_part, line.quantity, line.gtin) for line in po.lines] == [
        ("DESK-1", 3, "0012345678905"),
        ("LAMP-2", 2, None),
    ]
    assert po.ship_to.name == "Ada Buyer" and po.ack_by is not None and po.ship_by > po.ack_by
    sku = edi["sku"]
    place(retailer, [(sku, 1)])
    place(retailer, [(sku, 1)])
    assert len(queue(session)) == 3
    assert len(queue(session)) == 3  # queued once
    sent = session.scalars(sa.select(EdiPurchaseOrder).order_by(EdiPurchaseOrder.id)).all()
    assert [s.interchange_control for s in sent] == [1, 2, 3]
    assert [s.set_control for s in sent] == [1, 2, 3]


def test_a_full_cycle_997_855_856_810_reaches_the_hub_state(edi, session):
    queue(session)
    sent = session.scalar(sa.select(EdiPurchaseOrder))
    po_id, (desk, lamp) = edi["po"], edi["lines"]
    got = drop(session, edi["vendor"], "997_1.edi", fa_997(sent.group_control, sent.set_control))
    assert got.edi_file.status == "applied" and got.reply is None  # a 997 is never acknowledged
    assert session.get(EdiPurchaseOrder, sent.id).ack_status == "A"

    got = drop(session, edi["vendor"], "855_1.edi", ack_855(po_id, (1, "IA", 3), (2, "IR", 2)))
    assert got.edi_file.status == "applied", got.edi_file.report
    po = po_of(edi["vendor"], po_id)
    assert [(line["status"], line["rejected"]) for line in po["lines"]] == [
        ("acknowledged", 0),
        ("rejected", 2),
    ]
    holds = edi["retailer"].api.get("/api/v1/holds").get_json()["data"]
    assert [h["vendor_sku"] for h in holds] == ["LAMP-2"]  # out_of_stock placed the oversell hold
    reply = read_envelope(read_interchange(got.reply.raw))
    assert read_997(reply.sets[0]).sets == {"0001": "A"}

    got = drop(session, edi["vendor"], "856_1.edi", asn_856(po_id, "1Z999", (1, 2)))
    assert got.edi_file.status == "applied", got.edi_file.report
    po = po_of(edi["vendor"], po_id)
    assert po["shipments"][0]["tracking_number"] == "1Z999" and po["shipments"][0]["carrier"] == "UPSN"
    assert po["lines"][0]["shipped"] == 2

    got = drop(
        session, edi["vendor"], "810_1.edi", invoice_810(po_id, "INV-1", (1, 3, "13.00"), total_cents=3900)
    )
    assert got.edi_file.status == "applied", got.edi_file.report
    invoices = edi["retailer"].api.get("/api/v1/invoices").get_json()["data"]
    assert len(invoices) == 1 and invoices[0]["number"] == "INV-1"
    assert sorted(m["kind"] for m in invoices[0]["mismatches"]) == ["over_shipped", "unit_price"]
    flags = session.scalars(sa.select(Flag).where(Flag.kind == INVOICE_MISMATCH)).all()
    assert [f.po_line_id for f in flags] == [desk["id"]]
    assert edi["vendor"].api.get("/vendor-api/v1/invoices").get_json()["data"][0]["id"] == invoices[0]["id"]
    assert desk and lamp
    files = edi["vendor"].api.get("/vendor-api/v1/edi/files").get_json()["data"]
    assert [f["name"] for f in files if f["direction"] == "in"] == [
        "997_1.edi",
        "855_1.edi",
        "856_1.edi",
        "810_1.edi",
    ]
    one = edi["vendor"].api.get(f"/vendor-api/v1/edi/files/{files[-1]['id']}").get_json()
    assert one["raw"].startswith("ISA") and one["report"] == files[-1]["report"]
    stranger = edi["retailer"].api.get(f"/vendor-api/v1/edi/files/{files[-1]['id']}")
    assert stranger.status_code in (401, 403)


def test_a_set_that_breaks_a_rule_is_rejected_whole_and_the_997_says_so(edi, session):
    queue(session)
    po_id = edi["po"]
    # Line 1 may ship 3, line 2 asks for 9 of 2: the whole 856 set is refused, line 1 included.
    got = drop(session, edi["vendor"], "856_bad.edi", asn_856(po_id, "1Z1", (1, 3), (2, 9)))
    assert got.edi_file.status == "rejected"
    assert "nothing of it applied" in " ".join(got.edi_file.report)
    po = po_of(edi["vendor"], po_id)
    assert po["shipments"] == [] and [line["shipped"] for line in po["lines"]] == [0, 0]
    ack = read_997(read_envelope(read_interchange(got.reply.raw)).sets[0])
    assert ack.sets == {"0001": "R"} and ack.group_status == "R"
    unknown = drop(session, edi["vendor"], "855_unknown.edi", ack_855(999999, (1, "IA", 1)))
    assert unknown.edi_file.status == "rejected" and "not one of this vendor's" in " ".join(
        unknown.edi_file.report
    )


def test_a_file_seen_twice_is_processed_once(edi, session):
    queue(session)
    data = asn_856(edi["po"], "1Z2", (1, 1))
    first = drop(session, edi["vendor"], "856.edi", data)
    again = drop(session, edi["vendor"], "856.edi", data)
    assert not first.duplicate and again.duplicate and again.edi_file.id == first.edi_file.id
    assert len(po_of(edi["vendor"], edi["po"])["shipments"]) == 1


def test_garbage_and_a_stranger_sender_are_kept_with_a_report_and_apply_nothing(edi, session):
    got = drop(session, edi["vendor"], "junk.edi", b"\xff\xfenot x12 at all")
    assert got.edi_file.status == "rejected" and got.edi_file.report[0].startswith("not processed")
    stranger = ack_855(edi["po"], (1, "IA", 3)).replace(b"ACMEVENDOR     ", b"SOMEONEELSE    ")
    got = drop(session, edi["vendor"], "855_stranger.edi", stranger)
    assert got.edi_file.status == "rejected" and "ISA06" in got.edi_file.report[0]
    assert po_of(edi["vendor"], edi["po"])["lines"][0]["status"] == "open"


def test_an_850_without_its_997_flags_the_order_and_a_late_997_clears_it(edi, session):
    queue(session)
    sent = session.scalar(sa.select(EdiPurchaseOrder))
    with transaction(session):
        assert outbound.flag_unacknowledged(session, now=utcnow()) == 0
        assert outbound.flag_unacknowledged(session, now=utcnow() + dt.timedelta(hours=5)) == 1
    flags = session.scalars(sa.select(Flag).where(Flag.kind == EDI_UNACKNOWLEDGED)).all()
    assert len(flags) == 2 and flags[0].detail["interchange_control"] == "000000001"
    # The connection's scorecard counts the purchase order (one, however many lines it has).
    cards = {
        c["vendor_id"]: c for c in edi["retailer"].api.get("/api/v1/vendors/scorecards").get_json()["data"]
    }
    assert cards[edi["vendor"].id]["unacknowledged_850s"] == 1
    assert all(c["unacknowledged_850s"] == 0 for v, c in cards.items() if v != edi["vendor"].id)
    drop(session, edi["vendor"], "997.edi", fa_997(sent.group_control, sent.set_control))
    session.expire_all()
    assert all(
        f.resolved_at is not None
        for f in session.scalars(sa.select(Flag).where(Flag.kind == EDI_UNACKNOWLEDGED))
    )


def test_a_retailer_cancellation_sends_an_860(edi, session):
    queue(session)
    order_id = edi["retailer"].api.get("/api/v1/orders").get_json()["data"][0]["id"]
    response = edi["retailer"].api.post(f"/api/v1/orders/{order_id}/cancel", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    with transaction(session):
        assert outbound.queue_cancellations(session, now=utcnow()) == 1
        assert outbound.queue_cancellations(session, now=utcnow()) == 0
    change = session.scalar(sa.select(EdiFile).where(EdiFile.name.like("dropnet_860_%")))
    segments = read_envelope(read_interchange(change.raw)).sets[0].segments
    assert segments[1].elements[:4] == ["BCH", "01", "DS", str(edi["po"])]
    assert [s.get(2) for s in segments if s.tag == "POC"] == ["DI", "DI"]
    assert partners  # the module under test


def test_the_operator_cli_sets_up_a_partner_and_refuses_a_bad_one(app, session, network, monkeypatch):
    app.config["HUB_FEED_ALLOW_PRIVATE"] = True
    vendor = network.vendors[1]
    monkeypatch.setenv("ACME_SFTP_PASSWORD", "pw-from-env")
    base = ["hub", "edi-setup", "--vendor", str(vendor.id), "--isa-qualifier", "01", "--host", "127.0.0.1"]
    good = app.test_cli_runner().invoke(
        args=[*base, "--isa-id", "123456789", "--username", "acme", "--password-env", "ACME_SFTP_PASSWORD"]
    )
    assert good.exit_code == 0, good.output
    assert "01/123456789" in good.output and "pw-from-env" not in good.output
    shown = vendor.api.get("/vendor-api/v1/edi").get_json()
    assert shown["isa_id"] == "123456789" and shown["transport"]["username"] == "acme"
    bad = app.test_cli_runner().invoke(
        args=[*base, "--isa-id", "way-too-long-an-isa-id", "--username", "acme", "--password-env", "X"]
    )
    assert bad.exit_code != 0 and "isa_id" in bad.output
    assert vendor.api.get("/vendor-api/v1/edi").get_json()["isa_id"] == "123456789"


ship_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)


# The text itself (separators, non-ASCII, any order) is tested without a database, with many more
# examples: tests/domain/test_edi_x12.py::test_an_850_we_write_reads_back_as_the_same_order. Here
# the path through the API, the database and the outbound queue, for which a few orders suffice.
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quantities=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    reference=st.text(
        alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), min_size=1, max_size=40
    ),
    name=ship_text,
    city=ship_text,
)
def test_the_850_of_any_order_we_can_place_reads_back_as_that_order(
    edi, session, quantities, reference, name, city
):
    """Separators, non-ASCII and odd text in the order never break the 850: it reads back as written."""
    from network.orders.models import PurchaseOrder
    from network.trading.models import TradingPartner as Partner

    skus = [edi["sku"], edi["lamp"]]
    response = place(
        edi["retailer"],
        [(skus[i], q) for i, q in enumerate(quantities)],
        reference=reference,
        ship_to={
            "name": name,
            "address1": "1 * Main ~ St",
            "city": city,
            "postal_code": "1>2^3",
            "country": "US",
        },
    )
    if response.status_code != 201:  # an order the API refuses (e.g. stock used up) is no order we placed
        return
    po_id = response.get_json()["purchase_orders"][0]["id"]
    with transaction(session):
        stored = session.scalar(sa.select(Partner))
        edi_file = outbound.send_850(session, stored, session.get(PurchaseOrder, po_id), now=utcnow())
        expected = cleaned(
            outbound.to_850(session.get(PurchaseOrder, po_id), None), partners.separators(stored)
        )
    back, problems = read_850(read_envelope(read_interchange(edi_file.raw)).sets[0])
    assert problems == []
    assert back.po_number == expected.po_number and back.lines == expected.lines
    assert back.ship_to == expected.ship_to and back.retailer_reference == expected.retailer_reference


def test_an_810_with_figures_beyond_what_the_hub_holds_is_rejected_not_fatal(edi, session):
    huge_price = drop(
        session, edi["vendor"], "810_huge.edi", invoice_810(edi["po"], "INV-H", (1, 1, "1E+20"))
    )
    huge_qty = drop(
        session, edi["vendor"], "810_qty.edi", invoice_810(edi["po"], "INV-Q", (1, 10**15, "1.00"))
    )
    for got in (huge_price, huge_qty):
        assert got.edi_file.status == "rejected" and "nothing of it applied" in " ".join(got.edi_file.report)
        assert read_997(read_envelope(read_interchange(got.reply.raw)).sets[0]).sets == {"0001": "R"}
    assert edi["retailer"].api.get("/api/v1/invoices").get_json()["data"] == []
    too_big = edi["vendor"].api.post(
        "/vendor-api/v1/invoices",
        json={
            "purchase_order_id": edi["po"],
            "number": "API-1",
            "lines": [{"line_id": edi["lines"][0]["id"], "quantity": 1000000, "unit_price": "99999999.9999"}]
            * 3,
        },
    )
    assert too_big.status_code == 422


def test_an_846_in_the_mailbox_is_a_stock_feed_run(edi, session):
    got = drop(session, edi["vendor"], "846.edi", advice_846(("LAMP-2", 40), ("NOPE-9", 1)))
    assert got.edi_file.status == "applied", got.edi_file.report
    assert "stock feed run" in got.edi_file.report[0]
    runs = edi["vendor"].api.get("/vendor-api/v1/feed-runs").get_json()["data"]
    assert runs[-1]["status"] in ("applied", "partially_applied") and runs[-1]["rows_applied"] == 1
    from tests.builders import availability

    assert availability(edi["retailer"], edi["lamp"])["available"] == 38  # 40 less the 2 ordered


def test_raw_files_are_dropped_after_the_feed_retention_and_their_reports_kept(edi, session, app):
    from network.jobs import drop_old_feed_files

    got = drop(session, edi["vendor"], "855_old.edi", ack_855(edi["po"], (1, "IA", 3)))
    queue(session)  # a pending 850 keeps its bytes until it is sent
    days = int(app.config["HUB_FEED_RAW_RETENTION_DAYS"])
    drop_old_feed_files(now=utcnow() + dt.timedelta(days=days + 1))
    session.expire_all()
    kept = session.get(EdiFile, got.edi_file.id)
    assert kept.raw == "" and kept.report == got.edi_file.report and kept.sha256
    pending = session.scalars(sa.select(EdiFile).where(EdiFile.status == "pending")).all()
    assert pending and all(f.raw for f in pending)
