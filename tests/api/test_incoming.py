"""Incoming stock for retailers: each source of an item shows the vendor's incoming units and their
date, so a retailer can say "ships from <date>"; they are never sold."""

from __future__ import annotations

from tests.builders import availability, make_item, make_variant, push_csv, push_json


def test_availability_shows_incoming_units_and_their_date_per_source(session, network):
    first, second = network.vendors
    retailer = network.retailer
    a = make_variant(session, first, "CHAIR")
    b = make_variant(session, second, "CHAIR-B")
    sku = make_item(session, retailer, [a, b])
    push_json(first, [{"sku": "CHAIR", "quantity": 0, "incoming": 40, "incoming_eta": "2030-03-01"}])
    push_csv(second, "sku,quantity\nCHAIR-B,3\n")
    row = availability(retailer, sku)
    assert row["available"] == 3  # incoming units are not sold
    by_variant = {s["vendor_variant_id"]: s for s in row["sources"]}
    assert (by_variant[a]["incoming"], by_variant[a]["incoming_eta"]) == (40, "2030-03-01")
    assert (by_variant[b]["incoming"], by_variant[b]["incoming_eta"]) == (0, None)
    # The other retailer does not see the item at all.
    assert network.retailers[1].api.get(f"/api/v1/availability?sku={sku}").get_json()["data"] == []

    # The vendor's next count moves the date; a bad date is rejected for that row only.
    push_json(first, [{"sku": "CHAIR", "quantity": 0, "incoming": 40, "incoming_eta": "2030-02-15"}])
    bad = push_json(
        first, [{"sku": "CHAIR", "quantity": 0, "incoming": 40, "incoming_eta": "soon"}]
    ).get_json()
    assert bad["rows_rejected"] == 1
    source = next(s for s in availability(retailer, sku)["sources"] if s["vendor_variant_id"] == a)
    assert source["incoming_eta"] == "2030-02-15"
