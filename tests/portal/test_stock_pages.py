"""Stock pages: the searchable list, quantities edited in place (each save a feed run), CSV upload with
a mapping preview, row errors, and the feed run history."""

from __future__ import annotations

import io
import re

import pytest

from network.feeds.models import FeedRun
from network.stock.models import StockPosition
from network.uploads.models import UploadDraft
from tests.builders import availability, make_item, make_variant
from tests.order_helpers import set_stock
from tests.portal.conftest import fresh, make_vendor_user, page_token, sign_in, submit


@pytest.fixture
def vendor(session, client, network):
    """The network's first vendor, with a signed-in portal user."""
    party = network.vendor
    sign_in(client, make_vendor_user(session, org_id=party.id))
    return party


def quantities(session, *variant_ids: int) -> list[int]:
    fresh(session)
    return [session.get(StockPosition, v).quantity for v in variant_ids]


def save(client, edits: dict[int, tuple[int | str, int | str]], **form):
    """Submit the stock form: variant id -> (new value, value shown when the page loaded)."""
    data = {**form}
    for variant_id, (new, shown) in edits.items():
        data[f"qty-{variant_id}"] = str(new)
        data[f"was-{variant_id}"] = str(shown)
    return submit(client, "/portal/stock/quantities", data, page="/portal/stock")


def test_the_stock_list_shows_variants_with_their_quantities(session, client, vendor):
    lamp = make_variant(session, vendor, "LAMP-1", title="Desk lamp", gtin="4006381333931")
    set_stock(session, vendor, lamp, 12)
    text = client.get("/portal/stock").get_data(as_text=True)
    assert "LAMP-1" in text and "Desk lamp" in text and "4006381333931" in text
    assert f'name="qty-{lamp}"' in text
    assert re.search(rf'id="qty-{lamp}"[^>]*value="12"', text)


def listed(client, path: str) -> list[str]:
    """The skus a stock page lists, in order."""
    return re.findall(r"<td><code>([^<]+)</code>", client.get(path).get_data(as_text=True))


def test_search_finds_by_sku_title_or_gtin_and_pages_follow_the_sku_order(session, client, vendor):
    for n in range(5):
        make_variant(session, vendor, f"CHAIR-{n}", title=f"Chair {n}")
    make_variant(session, vendor, "TENT-1", title="Tent", gtin="4006381333931")
    make_variant(session, vendor, "100%_COTTON", title="Shirt")
    assert listed(client, "/portal/stock?q=chair") == [f"CHAIR-{n}" for n in range(5)]
    assert listed(client, "/portal/stock?q=4006381333931") == ["TENT-1"]
    assert listed(client, "/portal/stock?q=tent") == ["TENT-1"]
    assert listed(client, "/portal/stock?q=0%25_") == ["100%_COTTON"]  # % and _ match literally

    first = client.get("/portal/stock?q=chair&limit=2").get_data(as_text=True)
    next_link = re.search(r'href="(/portal/stock\?[^"]+)">Next page', first).group(1).replace("&amp;", "&")
    assert listed(client, next_link + "&limit=2") == ["CHAIR-2", "CHAIR-3"]
    last = listed(client, "/portal/stock?q=chair&limit=2&after=CHAIR-3")
    assert last == ["CHAIR-4"]
    assert "Next page" not in client.get("/portal/stock?q=chair&limit=2&after=CHAIR-3").get_data(as_text=True)


def test_saving_edited_quantities_is_an_upload_feed_run_that_moves_availability(
    session, client, network, vendor
):
    lamp = make_variant(session, vendor, "LAMP-2")
    desk = make_variant(session, vendor, "DESK-2")
    set_stock(session, vendor, lamp, 5)
    set_stock(session, vendor, desk, 3)
    sku = make_item(session, network.retailer, [lamp])

    response = save(client, {lamp: (9, 5), desk: (3, 3)})
    assert response.status_code == 302
    assert quantities(session, lamp, desk) == [9, 3]
    run = session.query(FeedRun).order_by(FeedRun.id.desc()).first()
    assert (run.transport, run.mode, run.status, run.rows_seen) == ("upload", "delta", "applied", 1)
    assert availability(network.retailer, sku)["available"] == 9
    assert "feed run" in client.get("/portal/stock").get_data(as_text=True)


def test_an_edit_of_a_count_that_changed_meanwhile_is_not_saved(session, client, vendor):
    lamp = make_variant(session, vendor, "LAMP-3")
    set_stock(session, vendor, lamp, 5)
    set_stock(session, vendor, lamp, 7)  # the vendor's system pushed while the page was open
    response = save(client, {lamp: (1, 5)})
    assert response.status_code == 302
    assert quantities(session, lamp) == [7]
    page = client.get("/portal/stock").get_data(as_text=True)
    assert "LAMP-3 was changed by someone else meanwhile (it is now 7)" in page


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_bad_quantity_is_refused_and_changes_nothing(session, client, vendor, value):
    lamp = make_variant(session, vendor, "LAMP-4")
    set_stock(session, vendor, lamp, 5)
    fresh(session)
    runs = session.query(FeedRun).count()
    response = save(client, {lamp: (value, 5)})
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert quantities(session, lamp) == [5]
    assert session.query(FeedRun).count() == runs


def test_another_vendors_variant_cannot_be_edited(session, client, network, vendor):
    theirs = make_variant(session, network.vendors[1], "THEIRS-1")
    set_stock(session, network.vendors[1], theirs, 4)
    response = save(client, {theirs: (0, 4)})
    assert response.status_code == 404
    assert quantities(session, theirs) == [4]


def test_saving_without_the_csrf_token_changes_nothing(session, client, vendor):
    lamp = make_variant(session, vendor, "LAMP-5")
    set_stock(session, vendor, lamp, 5)
    response = client.post("/portal/stock/quantities", data={f"qty-{lamp}": "0", f"was-{lamp}": "5"})
    assert response.status_code == 400
    assert quantities(session, lamp) == [5]


# --- CSV upload -------------------------------------------------------------------------------

CSV = "Item Number;Qty On Hand;Note\nCSV-A;10;x\nCSV-B;-3;y\nNOPE;4;z\n"


def upload(client, text: str, **form):
    token = page_token(client, "/portal/stock/upload")
    data = {"csrf_token": token, "mode": "delta", "basis": "available", "encoding": "utf-8", **form}
    data["file"] = (io.BytesIO(text.encode()), "stock.csv")
    return client.post("/portal/stock/upload", data=data, content_type="multipart/form-data")


def test_an_uploaded_csv_is_previewed_with_its_mapping_before_anything_changes(session, client, vendor):
    a = make_variant(session, vendor, "CSV-A")
    b = make_variant(session, vendor, "CSV-B")
    set_stock(session, vendor, a, 1)
    set_stock(session, vendor, b, 2)

    staged = upload(client, CSV)
    assert staged.status_code == 302
    preview_url = staged.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    # The columns are recognised from their names and shown selected.
    assert re.search(r'<option value="Item Number" selected>', page)
    assert re.search(r'<option value="Qty On Hand" selected>', page)
    assert "3 rows read, 1 valid" in page
    assert "quantity &#39;-3&#39; is negative" in page or "is negative" in page
    assert "unknown sku" in page
    assert quantities(session, a, b) == [1, 2]  # nothing applied yet

    draft_id = int(preview_url.split("/")[-1].split("?")[0])
    applied = submit(
        client,
        f"/portal/stock/upload/{draft_id}",
        {
            "action": "apply",
            "map_sku": "Item Number",
            "map_quantity": "Qty On Hand",
            "mode": "delta",
            "basis": "available",
            "encoding": "utf-8",
        },
        page=preview_url,
    )
    assert applied.status_code == 302
    run_page = client.get(applied.headers["Location"]).get_data(as_text=True)
    assert "partially applied" in run_page
    assert "Rejected rows" in run_page and "NOPE" in run_page
    assert quantities(session, a, b) == [10, 2]
    assert session.query(UploadDraft).count() == 0
    run = session.query(FeedRun).order_by(FeedRun.id.desc()).first()
    assert (run.transport, run.rows_applied, run.rows_rejected) == ("upload", 1, 2)


def test_a_mapping_without_a_quantity_column_cannot_be_applied(session, client, vendor):
    a = make_variant(session, vendor, "CSV-A")
    staged = upload(client, "code,count\nCSV-A,5\n")
    preview_url = staged.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "choose the column that holds the quantity" in page
    draft_id = int(preview_url.split("/")[-1].split("?")[0])
    refused = submit(
        client, f"/portal/stock/upload/{draft_id}", {"action": "apply", "map_sku": "code"}, page=preview_url
    )
    assert refused.status_code == 422
    assert quantities(session, a) == [0]
    # Choosing the column fixes it.
    ok = submit(
        client,
        f"/portal/stock/upload/{draft_id}",
        {"action": "apply", "map_sku": "code", "map_quantity": "count"},
        page=preview_url,
    )
    assert ok.status_code == 302
    assert quantities(session, a) == [5]


def test_an_upload_can_be_discarded_and_another_vendors_upload_is_not_found(
    session, app, client, network, vendor
):
    staged = upload(client, CSV)
    draft_id = int(staged.headers["Location"].split("/")[-1].split("?")[0])
    other = app.test_client()
    sign_in(other, make_vendor_user(session, org_id=network.vendors[1].id))
    assert other.get(f"/portal/stock/upload/{draft_id}").status_code == 404
    assert (
        submit(other, f"/portal/stock/upload/{draft_id}/discard", {}, page="/portal/stock").status_code == 404
    )
    assert (
        submit(client, f"/portal/stock/upload/{draft_id}/discard", {}, page="/portal/stock").status_code
        == 302
    )
    assert client.get(f"/portal/stock/upload/{draft_id}").status_code == 404


def test_an_empty_file_is_refused_on_the_upload_form(client, vendor):
    response = upload(client, "")
    assert response.status_code == 422
    assert "the file is empty" in response.get_data(as_text=True)


def test_feed_runs_list_and_detail_show_only_the_vendors_own_runs(session, app, client, network, vendor):
    a = make_variant(session, vendor, "RUN-A")
    set_stock(session, vendor, a, 3)
    fresh(session)
    run_id = session.query(FeedRun).filter_by(vendor_id=vendor.id).one().id
    assert f"#{run_id}" in client.get("/portal/feed-runs").get_data(as_text=True)
    assert client.get(f"/portal/feed-runs/{run_id}").status_code == 200
    other = app.test_client()
    sign_in(other, make_vendor_user(session, org_id=network.vendors[1].id))
    assert f"#{run_id}" not in other.get("/portal/feed-runs").get_data(as_text=True)
    assert other.get(f"/portal/feed-runs/{run_id}").status_code == 404
