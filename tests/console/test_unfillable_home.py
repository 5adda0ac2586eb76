"""The console's home lists an `unfillable` line with the other open flags: it has no vendor yet."""

from __future__ import annotations

from tests.console.test_vendors import sign_in_as
from tests.order_helpers import place, stocked_item


def test_an_order_line_accepted_short_is_an_open_flag_on_the_home_page(client, session, network):
    retailer = network.retailer
    _, lamp = stocked_item(session, network.vendor, [retailer], 1, sku="LAMP")
    placed = place(retailer, [(lamp, 3)], allow_partial=True, reference="SHORT-LAMP-1")
    assert placed.status_code == 201, placed.get_data(as_text=True)
    sign_in_as(client, session, retailer.id, "viewer")

    html = client.get("/console").get_data(as_text=True)
    assert "unfillable" in html and "SHORT-LAMP-1" in html
    assert "No source: the hub has no units for it" in html
    assert "No open flags." not in html
