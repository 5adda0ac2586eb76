"""Feed pages: a pull feed created against a real HTTP server on 127.0.0.1, previewed from a test fetch,
fetched now; held runs confirmed or discarded; another vendor's feeds and runs answer 404."""

from __future__ import annotations

import io
import re

import pytest
from werkzeug import Request, Response

from network.feeds.models import Feed, FeedRun
from network.stock.models import StockPosition
from tests.builders import make_variant
from tests.order_helpers import set_stock
from tests.portal.conftest import fresh, make_vendor_user, page_token, sign_in, submit

FEED_CSV = "Item,Qty\nHOSE,40\nRAKE,12\nNOPE,1\n"


@pytest.fixture
def vendor(app, session, client, network):
    app.config["HUB_FEED_ALLOW_PRIVATE"] = True  # the test's feed server is on 127.0.0.1
    party = network.vendor
    sign_in(client, make_vendor_user(session, org_id=party.id))
    make_variant(session, party, "HOSE")
    make_variant(session, party, "RAKE")
    return party


@pytest.fixture
def feed_url(httpserver):
    """A vendor's export behind basic auth."""

    def handler(request: Request) -> Response:
        if request.authorization is None or request.authorization.password != "s3cret-pass":
            return Response("who are you?", status=401)
        return Response(FEED_CSV, content_type="text/csv")

    httpserver.expect_request("/export.csv").respond_with_handler(handler)
    return httpserver.url_for("/export.csv")


def form(feed_url: str, **overrides) -> dict:
    return {
        "name": "Warehouse export",
        "url": feed_url,
        "auth_kind": "basic",
        "auth_username": "shop",
        "auth_secret": "s3cret-pass",
        "interval_minutes": "30",
        "format_kind": "csv",
        "mode": "delta",
        "basis": "available",
        "mapping": "sku = Item\nquantity = Qty",
        "active": "y",
        **overrides,
    }


def quantities(session, vendor) -> dict[str, int]:
    fresh(session)
    from network.catalog.models import VendorVariant

    rows = session.query(VendorVariant.vendor_sku, StockPosition.quantity).join(
        StockPosition, StockPosition.variant_id == VendorVariant.id
    )
    return dict(rows.filter(VendorVariant.vendor_id == vendor.id).all())


def create(client, feed_url: str, **overrides):
    return submit(client, "/portal/feeds/new", form(feed_url, **overrides))


def test_a_pull_feed_is_created_previewed_from_a_test_fetch_then_fetched_now(
    session, client, vendor, feed_url
):
    created = create(client, feed_url)
    assert created.status_code == 302, created.get_data(as_text=True)
    edit = created.headers["Location"]
    page = client.get(edit).get_data(as_text=True)
    assert "Credentials are saved (basic)" in page
    assert "s3cret-pass" not in page
    assert "quantity = Qty" in page
    assert "Warehouse export" in client.get("/portal/feeds").get_data(as_text=True)

    # Save and preview: the hub fetches the file and shows what it would do, applying nothing.
    preview = submit(client, edit, {**form(feed_url, auth_secret=""), "action": "preview"})
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "3 rows read, 2 valid, 1 rejected" in text
    assert "unknown sku" in text
    assert quantities(session, vendor) == {"HOSE": 0, "RAKE": 0}

    fetched = submit(client, edit + "/run", {}, page=edit)
    assert fetched.status_code == 302
    run_page = client.get(fetched.headers["Location"]).get_data(as_text=True)
    assert "partially applied" in run_page
    assert quantities(session, vendor) == {"HOSE": 40, "RAKE": 12}
    run = session.query(FeedRun).order_by(FeedRun.id.desc()).first()
    assert (run.transport, run.feed_id) == ("pull", session.query(Feed).one().id)
    assert f"#{run.id}" in client.get(edit).get_data(as_text=True)  # the feed's history


def test_a_failed_test_fetch_says_why_and_changes_nothing(session, client, vendor, feed_url):
    edit = create(client, feed_url).headers["Location"]
    response = submit(client, edit, {**form(feed_url, auth_secret="wrong-pass-123"), "action": "preview"})
    assert response.status_code == 422
    assert "could not be fetched" in response.get_data(as_text=True)
    assert "401" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"url": "ftp://files.example/stock.csv"}, "must be an http://, https:// or sftp:// URL"),
        ({"auth_secret": ""}, "required for basic auth"),
        ({"mapping": "quantity Qty"}, "write field = column"),
        ({"mapping": "colour = Qty"}, "cannot map"),
        ({"interval_minutes": "0"}, "Number must be between"),
    ],
)
def test_a_feed_that_cannot_work_is_refused_with_the_reason_and_not_saved(
    session, client, vendor, feed_url, overrides, message
):
    response = create(client, feed_url, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    fresh(session)
    assert session.query(Feed).count() == 0


def test_fetching_now_needs_the_csrf_token(session, client, vendor, feed_url):
    edit = create(client, feed_url).headers["Location"]
    assert client.post(edit + "/run").status_code == 400
    fresh(session)
    assert session.query(FeedRun).count() == 0


def test_another_vendors_feed_answers_404(app, session, client, network, vendor, feed_url):
    edit = create(client, feed_url).headers["Location"]
    other = app.test_client()
    sign_in(other, make_vendor_user(session, org_id=network.vendors[1].id))
    assert other.get(edit).status_code == 404
    token = page_token(other, "/portal/feeds")
    for action in ("", "/run", "/delete"):
        assert other.post(edit + action, data={"csrf_token": token, **form(feed_url)}).status_code == 404
    assert "Warehouse export" not in other.get("/portal/feeds").get_data(as_text=True)
    fresh(session)
    assert session.query(Feed).count() == 1 and session.query(FeedRun).count() == 0


def test_deleting_a_feed_keeps_its_runs(session, client, vendor, feed_url):
    edit = create(client, feed_url).headers["Location"]
    submit(client, edit + "/run", {}, page=edit)
    assert submit(client, edit + "/delete", {}, page=edit).status_code == 302
    fresh(session)
    assert session.query(Feed).count() == 0 and session.query(FeedRun).count() == 1


# --- held runs ---------------------------------------------------------------------------------


def upload_full(client, text: str):
    token = page_token(client, "/portal/stock/upload")
    staged = client.post(
        "/portal/stock/upload",
        data={
            "csrf_token": token,
            "mode": "full",
            "basis": "available",
            "encoding": "utf-8",
            "file": (io.BytesIO(text.encode()), "all.csv"),
        },
        content_type="multipart/form-data",
    )
    preview = staged.headers["Location"]
    draft = preview.split("?")[0]
    applied = submit(
        client,
        draft,
        {"action": "apply", "map_sku": "sku", "map_quantity": "quantity", "mode": "full"},
        page=preview,
    )
    return applied.headers["Location"]


@pytest.fixture
def held_run(session, client, vendor):
    for sku in ("A", "B", "C", "D"):
        set_stock(session, vendor, make_variant(session, vendor, sku), 10)
    run_page = upload_full(client, "sku,quantity\nA,10\nHOSE,0\nRAKE,0\n")  # B, C, D would drop to zero
    assert "This file is held for you to confirm" in client.get(run_page).get_data(as_text=True)
    return run_page


def test_a_held_upload_changes_nothing_until_the_vendor_applies_it(session, client, vendor, held_run):
    assert quantities(session, vendor)["B"] == 10
    applied = submit(client, held_run + "/apply", {}, page=held_run)
    assert applied.status_code == 302
    assert quantities(session, vendor) == {"HOSE": 0, "RAKE": 0, "A": 10, "B": 0, "C": 0, "D": 0}
    assert "This file is held" not in client.get(held_run).get_data(as_text=True)
    again = submit(client, held_run + "/apply", {}, page=held_run)
    assert again.status_code == 409
    assert "not held" in again.get_data(as_text=True)


def test_a_held_upload_can_be_discarded(session, client, vendor, held_run):
    assert submit(client, held_run + "/discard", {}, page=held_run).status_code == 302
    assert quantities(session, vendor)["B"] == 10
    assert re.search(r"badge-discarded\">discarded", client.get(held_run).get_data(as_text=True))


def test_another_vendor_cannot_apply_a_held_run(app, session, network, vendor, held_run):
    other = app.test_client()
    sign_in(other, make_vendor_user(session, org_id=network.vendors[1].id))
    token = page_token(other, "/portal/feeds")
    assert other.post(held_run + "/apply", data={"csrf_token": token}).status_code == 404
    assert quantities(session, vendor)["B"] == 10
