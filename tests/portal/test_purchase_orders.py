"""Purchase orders and returns in the portal: the inbox with SLA countdowns, acknowledge, reject,
ship (partly), cancel, the packing slip, receiving and grading returns; another vendor's ids 404."""

from __future__ import annotations

import re

import pytest

from tests.order_helpers import place, position, stocked_item
from tests.portal.conftest import make_vendor_user, page_token, sign_in, submit


@pytest.fixture
def vendor(session, client, network):
    party = network.vendor
    sign_in(client, make_vendor_user(session, org_id=party.id))
    return party


@pytest.fixture
def placed(session, network, vendor):
    """An order of 5 lamps and 2 desks placed by the retailer; returns (order json, po id, line ids)."""
    retailer = network.retailer
    lamp, lamp_sku = stocked_item(session, vendor, [retailer], 10, sku="LAMP-PO", title="LED lamp")
    desk, desk_sku = stocked_item(session, vendor, [retailer], 4, sku="DESK-PO", title="Desk")
    response = place(retailer, [(lamp_sku, 5), (desk_sku, 2)], reference="SHOP-1001")
    assert response.status_code == 201, response.get_data(as_text=True)
    order = response.get_json()
    (po,) = order["purchase_orders"]
    lines = {line["retailer_sku"]: line["purchase_order_lines"][0]["id"] for line in order["lines"]}
    return order, po["id"], {"lamp": lines[lamp_sku], "desk": lines[desk_sku], "lamp_variant": lamp}


def retailer_line_states(retailer, order_id: int) -> dict[str, tuple[str, int]]:
    order = retailer.api.get(f"/api/v1/orders/{order_id}").get_json()
    return {
        line["retailer_sku"]: (
            line["purchase_order_lines"][0]["status"],
            line["purchase_order_lines"][0]["shipped"],
        )
        for line in order["lines"]
    }


def po_path(po_id: int, action: str = "") -> str:
    return f"/portal/purchase-orders/{po_id}" + (f"/{action}" if action else "")


def test_the_inbox_lists_the_po_with_its_sla_countdowns(client, network, placed):
    _, po_id, _ = placed
    page = client.get("/portal/purchase-orders").get_data(as_text=True)
    assert f"PO-{po_id}" in page and "SHOP-1001" in page and network.retailer.name in page
    assert "Needs action (1)" in page
    # Default terms: acknowledge within 24 h, ship within 72 h of the order.
    assert re.search(r'data-due="[^"]+"[^>]*>in 2[23] h \d+ min', page)
    assert re.search(r'data-due="[^"]+"[^>]*>in 7[01] h \d+ min', page)
    assert (
        "PO-"
        not in client.get("/portal/purchase-orders?state=shipped").get_data(as_text=True).split("<table")[1]
    )
    dashboard = client.get("/portal/dashboard").get_data(as_text=True)
    assert f"PO-{po_id}" in dashboard


def test_acknowledging_in_the_portal_reaches_the_retailer(client, network, placed):
    order, po_id, _ = placed
    response = submit(client, po_path(po_id, "acknowledge"), {}, page=po_path(po_id))
    assert response.status_code == 302
    assert set(retailer_line_states(network.retailer, order["id"]).values()) == {("acknowledged", 0)}
    page = client.get(po_path(po_id)).get_data(as_text=True)
    assert "Acknowledged: the retailer is told you will ship." in page
    assert "Acknowledge the purchase order" not in page
    assert f"PO-{po_id}" in client.get("/portal/purchase-orders?state=acknowledged").get_data(as_text=True)


def test_a_transition_without_the_csrf_token_changes_nothing(client, network, placed):
    order, po_id, _ = placed
    assert client.post(po_path(po_id, "acknowledge")).status_code == 400
    assert set(retailer_line_states(network.retailer, order["id"]).values()) == {("open", 0)}


def test_shipping_part_then_the_rest_with_carrier_and_tracking(client, network, placed):
    order, po_id, lines = placed
    lamp_sku, desk_sku = (line["retailer_sku"] for line in order["lines"])
    first = submit(
        client,
        po_path(po_id, "ship"),
        {
            "carrier": "DHL",
            "tracking_number": "JD0001",
            f"ship-{lines['lamp']}": "3",
            f"ship-{lines['desk']}": "0",
        },
        page=po_path(po_id),
    )
    assert first.status_code == 302
    states = retailer_line_states(network.retailer, order["id"])
    assert states[lamp_sku] == ("partially_shipped", 3)
    assert states[desk_sku] == ("open", 0)
    page = client.get(po_path(po_id)).get_data(as_text=True)
    assert "JD0001" in page
    assert re.search(rf'name="ship-{lines["lamp"]}"[^>]*value="2"', page)  # the rest is proposed

    rest = submit(
        client,
        po_path(po_id, "ship"),
        {
            "carrier": "UPS",
            "tracking_number": "1Z999",
            f"ship-{lines['lamp']}": "2",
            f"ship-{lines['desk']}": "2",
        },
        page=po_path(po_id),
    )
    assert rest.status_code == 302
    assert retailer_line_states(network.retailer, order["id"]) == {
        lamp_sku: ("shipped", 5),
        desk_sku: ("shipped", 2),
    }


def test_shipping_more_than_is_left_is_refused_with_the_reason(client, network, placed):
    order, po_id, lines = placed
    response = submit(
        client,
        po_path(po_id, "ship"),
        {"carrier": "DHL", "tracking_number": "T1", f"ship-{lines['lamp']}": "6"},
        page=po_path(po_id),
    )
    assert response.status_code == 409
    assert "only 5 are unshipped" in response.get_data(as_text=True)
    assert set(retailer_line_states(network.retailer, order["id"]).values()) == {("open", 0)}


@pytest.mark.parametrize(
    "form, status, message",
    [
        ({"carrier": "", "tracking_number": "T1"}, 422, "The carrier is required"),
        ({"carrier": "DHL", "tracking_number": "T1", "ship-LINE": "x"}, 422, "is not a whole number"),
        ({"carrier": "DHL", "tracking_number": "T1", "ship-LINE": "0"}, 422, "at least one line"),
    ],
)
def test_bad_shipment_forms_answer_4xx_and_change_nothing(client, network, placed, form, status, message):
    order, po_id, lines = placed
    form = {k.replace("LINE", str(lines["lamp"])): v for k, v in form.items()}
    form.setdefault(f"ship-{lines['lamp']}", "1")
    response = submit(client, po_path(po_id, "ship"), form, page=po_path(po_id))
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert set(retailer_line_states(network.retailer, order["id"]).values()) == {("open", 0)}


def test_rejecting_lines_needs_a_reason_and_releases_the_units(session, client, network, placed):
    order, po_id, lines = placed
    no_reason = submit(
        client,
        po_path(po_id, "reject"),
        {f"reject-{lines['desk']}": "2", "reason_code": "", "reason": "gone"},
        page=po_path(po_id),
    )
    assert no_reason.status_code == 422
    assert "A reason is required" in no_reason.get_data(as_text=True)

    ok = submit(
        client,
        po_path(po_id, "reject"),
        {f"reject-{lines['desk']}": "2", "reason_code": "discontinued", "reason": "end of line"},
        page=po_path(po_id),
    )
    assert ok.status_code == 302
    desk_sku = order["lines"][1]["retailer_sku"]
    assert retailer_line_states(network.retailer, order["id"])[desk_sku] == ("rejected", 0)
    assert "Discontinued: end of line" in client.get(po_path(po_id)).get_data(as_text=True)
    flags = network.retailer.api.get("/api/v1/flags").get_json()["data"]
    assert [(f["kind"], f["detail"]["reason_code"]) for f in flags] == [("vendor_rejected", "discontinued")]
    # Not about stock: no hold, the desk's other units stay on sale.
    assert network.retailer.api.get("/api/v1/holds").get_json()["data"] == []


def test_the_reject_and_cancel_forms_offer_the_apis_reason_codes(client, placed):
    _, po_id, _ = placed
    page = client.get(po_path(po_id)).get_data(as_text=True)
    for name in ("reason_code", "cancel_reason_code"):
        select = page.split(f'name="{name}"')[1].split("</select>")[0]
        codes = re.findall(r'<option value="([a-z_]+)"', select)
        assert codes == ["out_of_stock", "discontinued", "price_error", "address_problem", "other"]


@pytest.mark.parametrize("action", ["reject", "cancel"])
def test_out_of_stock_in_the_portal_holds_the_variant_for_every_retailer_as_the_api_does(
    session, client, network, placed, action
):
    order, po_id, lines = placed
    prefix = "" if action == "reject" else "cancel_"
    response = submit(
        client,
        po_path(po_id, action),
        {f"{action}-{lines['lamp']}": "5", f"{prefix}reason_code": "out_of_stock"},
        page=po_path(po_id),
    )
    assert response.status_code == 302
    (hold,) = network.vendor.api.get("/vendor-api/v1/holds?status=active").get_json()["data"]
    assert (hold["vendor_variant_id"], hold["detail"]["quantity_on_record"]) == (lines["lamp_variant"], 10)
    lamp_sku = order["lines"][0]["retailer_sku"]
    for retailer in network.retailers:
        shown = retailer.api.get(f"/api/v1/availability?sku={lamp_sku}").get_json()["data"]
        assert [row["available"] for row in shown] == ([0] if shown else [])
    flags = network.retailer.api.get("/api/v1/flags").get_json()["data"]
    assert {f["detail"]["reason_code"] for f in flags} == {"out_of_stock"}


def test_an_unknown_reason_code_is_refused_and_changes_nothing(session, client, network, placed):
    order, po_id, lines = placed
    response = submit(
        client,
        po_path(po_id, "reject"),
        {f"reject-{lines['lamp']}": "5", "reason_code": "bored"},
        page=po_path(po_id),
    )
    assert response.status_code == 422
    assert "A reason is required" in response.get_data(as_text=True)
    assert set(retailer_line_states(network.retailer, order["id"]).values()) == {("open", 0)}
    assert network.vendor.api.get("/vendor-api/v1/holds").get_json()["data"] == []


def test_cancelling_unshipped_units(session, client, network, placed):
    order, po_id, lines = placed
    response = submit(
        client,
        po_path(po_id, "cancel"),
        {f"cancel-{lines['lamp']}": "5", "cancel_reason_code": "other", "cancel_reason": "sold out"},
        page=po_path(po_id),
    )
    assert response.status_code == 302
    assert position(session, lines["lamp_variant"]).committed == 0
    lamp_sku = order["lines"][0]["retailer_sku"]
    assert retailer_line_states(network.retailer, order["id"])[lamp_sku] == ("cancelled", 0)


def test_the_packing_slip_is_a_printable_page_with_the_ship_to_and_the_lines(client, placed):
    _, po_id, _ = placed
    response = client.get(po_path(po_id, "packing-slip"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Packing slip" in page and "Ada Buyer" in page and "1 Main St" in page
    assert "LAMP-PO" in page and "LED lamp" in page
    assert "data-print" in page and "onclick" not in page  # portal.js prints: no inline handler under the CSP


def test_another_vendors_purchase_order_answers_404_everywhere(app, session, network, placed):
    order, po_id, lines = placed
    other = app.test_client()
    sign_in(other, make_vendor_user(session, org_id=network.vendors[1].id))
    for path in (po_path(po_id), po_path(po_id, "packing-slip")):
        assert other.get(path).status_code == 404
    token = page_token(other, "/portal/dashboard")
    for action, form in (
        ("acknowledge", {}),
        ("ship", {"carrier": "X", "tracking_number": "Y", f"ship-{lines['lamp']}": "1"}),
        ("reject", {f"reject-{lines['lamp']}": "1", "reason_code": "other"}),
        ("cancel", {f"cancel-{lines['lamp']}": "1", "cancel_reason_code": "other"}),
    ):
        response = other.post(po_path(po_id, action), data={"csrf_token": token, **form})
        assert response.status_code == 404, action
        assert response.mimetype == "text/html"
    assert f"PO-{po_id}" not in other.get("/portal/purchase-orders?state=all").get_data(as_text=True)
    assert set(retailer_line_states(network.retailer, order["id"]).values()) == {("open", 0)}


# --- returns -----------------------------------------------------------------------------------


@pytest.fixture
def a_return(client, network, placed):
    order, po_id, lines = placed
    submit(
        client,
        po_path(po_id, "ship"),
        {
            "carrier": "DHL",
            "tracking_number": "T1",
            f"ship-{lines['lamp']}": "5",
            f"ship-{lines['desk']}": "2",
        },
        page=po_path(po_id),
    )
    body = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 3}], "reason": "dented"}
    opened = network.retailer.api.post(f"/api/v1/orders/{order['id']}/returns", json=body)
    assert opened.status_code == 201, opened.get_data(as_text=True)
    return opened.get_json()["data"][0]["id"], lines["lamp_variant"]


def test_an_expected_return_is_received_then_graded(session, client, a_return):
    return_id, lamp = a_return
    page = client.get("/portal/returns").get_data(as_text=True)
    assert f"RMA-{return_id}" in page and "dented" in page and "LAMP-PO" in page
    before = position(session, lamp).quantity

    received = submit(
        client, f"/portal/returns/{return_id}/receive", {"quantity": "3"}, page="/portal/returns"
    )
    assert received.status_code == 302
    assert position(session, lamp).pending_inspection == 3

    graded = submit(
        client,
        f"/portal/returns/{return_id}/grade",
        {"resellable": "2", "damaged": "1"},
        page="/portal/returns",
    )
    assert graded.status_code == 302
    pos = position(session, lamp)
    assert (pos.pending_inspection, pos.damaged, pos.quantity) == (0, 1, before + 2)
    assert f"RMA-{return_id}" in client.get("/portal/returns?status=closed").get_data(as_text=True)


def test_grading_more_than_was_received_is_refused_and_changes_nothing(session, client, a_return):
    return_id, lamp = a_return
    submit(client, f"/portal/returns/{return_id}/receive", {"quantity": "1"}, page="/portal/returns")
    response = submit(
        client,
        f"/portal/returns/{return_id}/grade",
        {"resellable": "2", "damaged": "0"},
        page="/portal/returns",
    )
    assert response.status_code == 409
    assert "only 1 received units are not yet graded" in response.get_data(as_text=True)
    assert position(session, lamp).pending_inspection == 1


def test_another_vendors_return_answers_404(app, session, network, a_return):
    return_id, lamp = a_return
    other = app.test_client()
    sign_in(other, make_vendor_user(session, org_id=network.vendors[1].id))
    token = page_token(other, "/portal/returns")
    assert (
        other.post(
            f"/portal/returns/{return_id}/receive", data={"csrf_token": token, "quantity": "1"}
        ).status_code
        == 404
    )
    assert f"RMA-{return_id}" not in other.get("/portal/returns?status=all").get_data(as_text=True)
    assert position(session, lamp).pending_inspection == 0
