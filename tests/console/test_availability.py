"""The console's Availability page: find an item, and read why it shows its figure, source by source."""

from __future__ import annotations

import datetime as dt
import html as html_lib

import pytest

from network.clock import utcnow
from tests.api.test_explain import set_terms
from tests.builders import availability, make_item, make_variant, push_json
from tests.console.test_vendors import sign_in_as
from tests.flag_helpers import order_of
from tests.order_helpers import stocked_item
from tests.portal.test_query_counts import queries


def text_of(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return html_lib.unescape(response.get_data(as_text=True))


def test_a_viewer_reads_why_an_item_shows_its_figure(client, session, network):
    retailer, other = network.retailers
    vendor, second = network.vendors
    variant, sku = stocked_item(session, vendor, [retailer, other], 10, sku="DESK", title="Oak desk")
    late = make_variant(session, second, "DESK-B")
    make_item(session, retailer, [variant, late], sku=sku)
    three_hours_ago = (utcnow() - dt.timedelta(hours=3)).isoformat()
    push_json(
        second,
        [{"sku": "DESK-B", "quantity": 9, "incoming": 5, "incoming_eta": "2031-01-02"}],
        mode="delta",
        as_of=three_hours_ago,
    )
    set_terms(session, retailer.id, second.id, stale_after_minutes=120)
    set_terms(session, retailer.id, vendor.id, safety_buffer=1)
    mine = order_of(retailer, sku, 2, reference="MY-ORDER-1")
    order_of(other, sku, 3, reference="THEIR-ORDER")
    sign_in_as(client, session, retailer.id, "viewer")

    home = text_of(client.get("/console"))
    assert 'href="/console/availability"' in home  # in the nav

    page = text_of(client.get(f"/console/availability/{sku}"))
    published = availability(retailer, sku)["available"]
    assert published == 10 - 5 - 1
    assert f'<strong id="published">{published}</strong>' in page
    assert "<small>Item</small>" in page and vendor.name in page and second.name in page
    # The committed units, with this retailer's own purchase-order line behind them.
    assert f"PO #{mine['po']} line #{mine['po_line']}" in page
    assert f'<a href="/console/orders/{mine["order"]}">MY-ORDER-1</a>' in page
    assert "3 on other retailers' orders" in page and "THEIR-ORDER" not in page
    assert "<div>10 counted − 5 committed − 1 buffer = 4</div>" in page
    # The stale source says why in plain words, and shows its incoming units and their date.
    assert "stale: last count 3 h old, limit 2 h" in page
    assert "from 2031-01-02" in page


def test_a_source_with_nothing_left_or_paused_says_so(client, session, network):
    retailer = network.retailer
    vendor, second = network.vendors
    variant, sku = stocked_item(session, vendor, [retailer], 2)
    order_of(retailer, sku, 2)  # the only source then: its two units are committed
    paused = make_variant(session, second, "PAUSED-1")
    make_item(session, retailer, [variant, paused], sku=sku)
    push_json(second, [{"sku": "PAUSED-1", "quantity": 4}], mode="delta")
    set_terms(session, retailer.id, second.id, status="paused")
    sign_in_as(client, session, retailer.id, "operator")
    page = text_of(client.get(f"/console/availability/{sku}"))
    assert '<strong id="published">0</strong>' in page, page[page.find("<table") :]
    assert "nothing left: 2 counted − 2 committed − 0 buffer = 0" in page
    assert "connection paused: its units are not offered" in page


def test_search_by_sku_or_title_and_an_exact_sku_goes_straight_to_the_item(client, session, network):
    retailer, other = network.retailers
    variant = make_variant(session, network.vendor)
    lamp, chair, theirs = "LAMP-1", "CHAIR-9", "LAMP-THEIRS"
    for party, sku, title in (
        (retailer, lamp, "Red lamp"),
        (retailer, chair, "Chair"),
        (other, theirs, "Lamp"),
    ):
        body = {"title": title, "sources": [{"vendor_variant_id": variant}]}
        assert party.api.put(f"/api/v1/items/{sku}", json=body).status_code == 201
    sign_in_as(client, session, retailer.id, "viewer")

    found = text_of(client.get("/console/availability?q=lamp"))
    assert lamp in found and chair not in found and theirs not in found
    by_title = text_of(client.get("/console/availability?q=red+LAMP"))
    assert lamp in by_title and chair not in by_title
    assert "No item matches “nothing-like-this”" in text_of(
        client.get("/console/availability?q=nothing-like-this")
    )
    straight = client.get(f"/console/availability?q=+{chair}+")
    assert straight.status_code == 302 and straight.headers["Location"] == f"/console/availability/{chair}"
    # Another retailer's SKU is not found, by search or by address.
    assert client.get(f"/console/availability?q={theirs}").status_code == 200
    assert client.get(f"/console/availability/{theirs}").status_code == 404
    assert client.get("/console/availability/NO-SUCH-SKU").status_code == 404
    assert client.get("/console/availability?after=abc").status_code == 200


def test_the_search_pages_by_id(client, session, network, monkeypatch):
    from network.console_views import availability as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    retailer = network.retailer
    variant = make_variant(session, network.vendor, "PAGED")
    skus = [make_item(session, retailer, [variant], sku=f"PAGED-{n}") for n in range(3)]
    sign_in_as(client, session, retailer.id, "viewer")
    first = text_of(client.get("/console/availability?q=PAGED"))
    assert skus[0] in first and skus[1] in first and skus[2] not in first
    next_link = first.split('class="next" href="')[1].split('"')[0]
    second = text_of(client.get(next_link))
    assert skus[2] in second and skus[0] not in second and "Next page" not in second


def test_anonymous_visitors_are_sent_to_sign_in(client, network):
    response = client.get("/console/availability/ANY")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ["item", "search"])
def test_the_page_runs_the_same_few_queries_for_one_source_or_many(client, session, network, path):
    retailer = network.retailer
    variant, sku = stocked_item(session, network.vendor, [retailer], 50, sku="MANY")
    order_of(retailer, sku, 1)
    sign_in_as(client, session, retailer.id, "viewer")
    url = f"/console/availability/{sku}" if path == "item" else "/console/availability?q=MANY"
    few = queries(client, url)
    extra = [make_variant(session, vendor) for vendor in network.vendors for _ in range(3)]
    make_item(session, retailer, [variant, *extra], sku=sku)
    for n in range(5):
        order_of(retailer, sku, 1, reference=f"MANY-{n}")
        make_item(session, retailer, [variant], sku=f"MANY-{n}")
    many = queries(client, url)
    assert few == many
    assert many <= 12
