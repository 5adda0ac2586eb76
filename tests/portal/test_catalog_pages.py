"""The catalog in the portal: products added and edited one by one, a catalog file imported with a
mapping and a preview (row errors, price slips held), discontinuing, and a stock upload that
offers to create its unknown SKUs."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from network.catalog.models import VendorVariant
from network.flags.models import Flag
from network.outbox.models import Event
from network.products.models import CatalogImport
from network.stock.models import StockPosition
from tests.builders import availability, gtin13, make_variant
from tests.order_helpers import place, stocked_item
from tests.portal.conftest import fresh, make_vendor_user, page_token, sign_in, submit
from tests.portal.test_stock_pages import upload


def _vendor(session, client, network):
    party = network.vendor
    sign_in(client, make_vendor_user(session, org_id=party.id))
    return party


def _variant(session, vendor_id, sku):
    fresh(session)
    return session.query(VendorVariant).filter_by(vendor_id=vendor_id, vendor_sku=sku).one_or_none()


def test_a_product_is_added_and_edited_in_the_portal(session, client, network):
    vendor = _vendor(session, client, network)
    form = {
        "sku": "CHAIR-1",
        "title": "Office chair",
        "gtin": gtin13(77),
        "cost": "$89.90",
        "map_price": "149",
        "image_urls": "https://img.example.com/a.jpg\nhttps://img.example.com/b.jpg",
        "attributes": "color: black\nmaterial: mesh",
    }
    created = submit(client, "/portal/products/new", form)
    assert created.status_code == 302
    variant = _variant(session, vendor.id, "CHAIR-1")
    assert str(variant.cost) == "89.9000" and variant.attributes == {"color": "black", "material": "mesh"}
    assert variant.image_urls == ["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"]
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Office chair" in page and "color: black" in page

    edited = submit(client, f"/portal/products/{variant.id}", {**form, "title": "Desk chair", "cost": "92"})
    assert edited.status_code == 302
    assert _variant(session, vendor.id, "CHAIR-1").title == "Desk chair"

    again = submit(client, "/portal/products/new", form, page="/portal/products/new")
    assert again.status_code == 422 and "already have a product" in again.get_data(as_text=True)


def test_bad_product_input_shows_field_errors_and_saves_nothing(session, client, network):
    vendor = _vendor(session, client, network)
    response = submit(
        client,
        "/portal/products/new",
        {"sku": "X-1", "title": "X", "cost": "twelve", "gtin": "1234567890123", "attributes": "no colon"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "write an amount like 12.50" in page and "name: value" in page
    assert _variant(session, vendor.id, "X-1") is None


def test_another_vendors_product_page_is_404(session, client, network):
    _vendor(session, client, network)
    theirs = make_variant(session, network.vendors[1], "THEIRS")
    assert client.get(f"/portal/products/{theirs}").status_code == 404


CATALOG = (
    "sku,title,gtin,cost,msrp,map_price,description,image_urls,weight,color\n"
    "LAMP-1,Desk lamp,,12.50,39.90,34.90,A lamp,https://img.example.com/l.jpg,1.2,black\n"
    "LAMP-2,Floor lamp,,40,,,,,,white\n"
    "LAMP-3,Bad lamp,,abc,,,,,,\n"
    "LAMP-1,Twice,,1,,,,,,\n"
    ",No sku,,1,,,,,,\n"
)


def _stage(client, text):
    token = page_token(client, "/portal/products/import")
    data = {"csrf_token": token, "encoding": "utf-8", "file": (io.BytesIO(text.encode()), "catalog.csv")}
    return client.post("/portal/products/import", data=data, content_type="multipart/form-data")


MAPPING = {
    "map_sku": "sku",
    "map_title": "title",
    "map_gtin": "gtin",
    "map_cost": "cost",
    "map_msrp": "msrp",
    "map_map_price": "map_price",
    "map_description": "description",
    "map_image_urls": "image_urls",
    "map_weight": "weight",
    "attributes": "1",
    "encoding": "utf-8",
}


def test_a_catalog_file_is_previewed_then_imported_with_row_errors(session, client, network):
    vendor = _vendor(session, client, network)
    staged = _stage(client, CATALOG)
    assert staged.status_code == 302
    preview_url = staged.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert '<option value="map_price" selected>' in page  # suggested from the header names
    assert re.search(r"5 rows read:\s*<strong>2</strong> new", page)
    assert "cost: &#39;abc&#39; is not a number" in page
    assert "duplicate sku: also on line 2" in page
    assert _variant(session, vendor.id, "LAMP-1") is None  # a preview writes nothing

    draft_id = int(preview_url.split("/")[-1].split("?")[0])
    applied = submit(
        client, f"/portal/products/import/{draft_id}", {"action": "apply", **MAPPING}, page=preview_url
    )
    assert applied.status_code == 302
    result = client.get(applied.headers["Location"]).get_data(as_text=True)
    assert "2 created" in result and "3 rejected" in result
    lamp = _variant(session, vendor.id, "LAMP-1")
    assert str(lamp.map_price) == "34.9000" and lamp.attributes == {"color": "black"}
    assert lamp.image_urls == ["https://img.example.com/l.jpg"] and lamp.description == "A lamp"
    assert session.get(StockPosition, lamp.id).quantity == 0


def test_a_price_slip_in_a_catalog_file_is_held_until_confirmed(session, client, network):
    vendor = _vendor(session, client, network)
    make_variant(session, vendor, "LAMP-1", title="Desk lamp", cost=Decimal("100.00"))
    make_variant(session, vendor, "LAMP-2", title="Floor lamp", cost=Decimal("40.00"))
    staged = _stage(client, "sku,cost\nLAMP-1,10.00\nLAMP-2,42.00\n")
    preview_url = staged.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "1 held for your confirmation" in page and "cost would go from 100.00 to 10.00" in page
    draft_id = int(preview_url.split("/")[-1].split("?")[0])
    applied = submit(
        client,
        f"/portal/products/import/{draft_id}",
        {"action": "apply", "map_sku": "sku", "map_cost": "cost", "encoding": "utf-8"},
        page=preview_url,
    )
    result_url = applied.headers["Location"]
    assert str(_variant(session, vendor.id, "LAMP-2").cost) == "42.0000"  # the rest applied
    assert str(_variant(session, vendor.id, "LAMP-1").cost) == "100.0000"  # the slip did not
    record = session.query(CatalogImport).one()
    (event,) = session.query(Event).filter_by(org_id=vendor.id, type="catalog.held").all()
    assert event.data["catalog_import_id"] == record.id and event.data["rows"][0]["sku"] == "LAMP-1"

    confirmed = submit(
        client,
        f"/portal/products/imports/{record.id}/held",
        {"sku": "LAMP-1", "action": "confirm"},
        page=result_url,
    )
    assert confirmed.status_code == 302
    assert str(_variant(session, vendor.id, "LAMP-1").cost) == "10.0000"


def test_discontinuing_zeroes_availability_and_flags_open_lines(session, client, network):
    vendor = _vendor(session, client, network)
    retailer, other = network.retailers
    variant, sku = stocked_item(session, vendor, [retailer, other], 10, sku="GONE-1")
    assert place(retailer, [(sku, 2)]).status_code == 201
    assert availability(other, sku)["available"] == 8
    response = submit(
        client, f"/portal/products/{variant}/discontinue", {}, page=f"/portal/products/{variant}"
    )
    assert response.status_code == 302
    assert availability(retailer, sku)["available"] == 0
    assert availability(other, sku)["available"] == 0
    fresh(session)
    (flag,) = session.query(Flag).filter_by(kind="discontinued").all()
    assert flag.retailer_id == retailer.id and flag.resolved_at is None
    flags = retailer.api.get("/api/v1/flags?status=open").get_json()["data"]
    assert [f["kind"] for f in flags] == ["discontinued"]
    assert "discontinued" in client.get(f"/portal/products/{variant}").get_data(as_text=True)


def test_a_stock_upload_naming_unknown_skus_offers_to_create_them(session, client, network):
    vendor = _vendor(session, client, network)
    known = make_variant(session, vendor, "OLD-1", title="Old")
    staged = upload(client, "sku,title,quantity\nOLD-1,Renamed?,5\nNEW-1,New chair,7\nNEW-2,New desk,3\n")
    stock_preview = staged.headers["Location"]
    page = client.get(stock_preview).get_data(as_text=True)
    assert "2 SKUs of this file" in page
    offer = re.search(r'href="(/portal/products/import/\d+\?[^"]+)"', page).group(1).replace("&amp;", "&")
    offer_page = client.get(offer).get_data(as_text=True)
    assert re.search(r"<strong>2</strong> new", offer_page)
    draft_id = int(offer.split("/")[-1].split("?")[0])
    created = submit(
        client,
        f"/portal/products/import/{draft_id}",
        {"action": "apply", "only_new": "1", "map_sku": "sku", "map_title": "title", "encoding": "utf-8"},
        page=offer,
    )
    assert created.headers["Location"].startswith(f"/portal/stock/upload/{draft_id}")
    assert _variant(session, vendor.id, "NEW-1").title == "New chair"
    assert _variant(session, vendor.id, "NEW-1").attributes == {}  # quantity is not an attribute
    assert _variant(session, vendor.id, "OLD-1").title == "Old"  # existing products untouched
    applied = submit(
        client,
        f"/portal/stock/upload/{draft_id}",
        {
            "action": "apply",
            "map_sku": "sku",
            "map_quantity": "quantity",
            "mode": "delta",
            "basis": "available",
            "encoding": "utf-8",
        },
        page=created.headers["Location"],
    )
    assert applied.status_code == 302
    fresh(session)
    new_id = _variant(session, vendor.id, "NEW-1").id
    assert [session.get(StockPosition, v).quantity for v in (known, new_id)] == [5, 7]


def test_a_held_jump_shows_its_reason_on_the_feed_run_and_the_limits_are_set_in_the_portal(
    session, client, network
):
    vendor = _vendor(session, client, network)
    variant = make_variant(session, vendor, "A-1")
    from tests.order_helpers import set_stock

    set_stock(session, vendor, variant, 12)
    staged = upload(client, "sku,quantity\nA-1,1200\n")
    preview = client.get(staged.headers["Location"]).get_data(as_text=True)
    assert "1 row would be held for your confirmation" in preview
    draft_id = int(staged.headers["Location"].split("/")[-1].split("?")[0])
    applied = submit(
        client,
        f"/portal/stock/upload/{draft_id}",
        {
            "action": "apply",
            "map_sku": "sku",
            "map_quantity": "quantity",
            "mode": "delta",
            "basis": "available",
            "encoding": "utf-8",
        },
        page=staged.headers["Location"],
    )
    parent = client.get(applied.headers["Location"]).get_data(as_text=True)
    held_id = re.search(r"held for your confirmation in feed run (\d+)", parent).group(1)
    held = client.get(f"/portal/feed-runs/{held_id}").get_data(as_text=True)
    assert "misplaced period" in held and "A-1: 1200 is more than 10× its highest count of 12" in held
    fresh(session)
    assert session.get(StockPosition, variant).quantity == 12
    confirmed = submit(client, f"/portal/feed-runs/{held_id}/apply", {}, page=f"/portal/feed-runs/{held_id}")
    assert confirmed.status_code == 302
    fresh(session)
    assert session.get(StockPosition, variant).quantity == 1200

    saved = submit(
        client,
        "/portal/guards",
        {"enabled": "y", "quantity_factor": "20", "quantity_floor": "500", "price_percent": "30"},
    )
    assert saved.status_code == 302
    assert vendor.api.get("/vendor-api/v1/guards").get_json() == {
        "enabled": True,
        "quantity_factor": 20,
        "quantity_floor": 500,
        "price_share": 0.3,
    }
    bad = submit(
        client, "/portal/guards", {"quantity_factor": "1", "quantity_floor": "-5", "price_percent": "x"}
    )
    assert bad.status_code == 422
    assert vendor.api.get("/vendor-api/v1/guards").get_json()["quantity_factor"] == 20


def test_the_product_page_shows_its_stock_history(session, client, network):
    vendor = _vendor(session, client, network)
    from tests.order_helpers import set_stock

    variant = make_variant(session, vendor, "HIST-1")
    set_stock(session, vendor, variant, 12)
    set_stock(session, vendor, variant, 9)
    page = client.get(f"/portal/products/{variant}").get_data(as_text=True)
    history = page.split("<h2>History</h2>", 1)[1]
    assert history.count("feed run") >= 2
    assert "quantity 12" in history and "quantity 9" in history
