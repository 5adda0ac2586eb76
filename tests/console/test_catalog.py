"""The console's Catalog: lists of variants and items, mapping one by one, GTIN auto-match, roles,
tenant isolation and the audit log (the CSV import is in test_catalog_import.py)."""

from __future__ import annotations

import pytest

from network.catalog.models import ItemSource, RetailerItem
from network.clock import utcnow
from network.db import transaction
from network.partners.audit import AuditEntry
from network.partners.models import Connection
from tests.builders import gtin13, make_item, make_variant, unique
from tests.console.test_vendors import sign_in_as
from tests.portal.conftest import csrf_of, fresh, submit
from tests.portal.test_query_counts import counting


def item_of(session, retailer_id: int, sku: str) -> RetailerItem | None:
    fresh(session)
    return session.query(RetailerItem).filter_by(retailer_id=retailer_id, retailer_sku=sku).one_or_none()


def sources(session, retailer_id: int, sku: str) -> dict[int, int]:
    item = item_of(session, retailer_id, sku)
    return {} if item is None else {s.variant_id: s.priority for s in item.sources}


def unsourced_item(session, retailer_id: int, gtin: str | None, sku: str | None = None) -> RetailerItem:
    now = utcnow()
    with transaction(session):
        item = RetailerItem(
            retailer_id=retailer_id,
            retailer_sku=sku or unique("RSKU"),
            title="Lamp",
            gtin=gtin,
            created_at=now,
            updated_at=now,
        )
        session.add(item)
    return item


def token(client) -> str:
    return csrf_of(client.get("/console/catalog").get_data(as_text=True))


def test_the_nav_links_the_catalog_and_the_lists_show_variants_items_and_their_sources(
    client, session, network
):
    retailer, vendor = network.retailer, network.vendor
    gtin = gtin13(7001)
    mapped = make_variant(session, vendor, sku=unique("LAMP"), title="Desk lamp", gtin=gtin)
    loose = make_variant(session, network.vendors[1], sku=unique("CHAIR"), title="Oak chair")
    sku = make_item(session, retailer, [mapped])
    sign_in_as(client, session, retailer.id, "viewer")

    home = client.get("/console").get_data(as_text=True)
    assert 'href="/console/catalog"' in home and ">Catalog<" in home

    items = client.get("/console/catalog").get_data(as_text=True)
    assert sku in items and "Desk lamp" not in items  # the item's own title, its source's vendor sku
    assert vendor.name in items

    variants = client.get("/console/catalog/variants").get_data(as_text=True)
    assert "Desk lamp" in variants and "Oak chair" in variants and sku in variants
    assert "Map</a>" not in variants  # a viewer may look, not map

    unmapped = client.get("/console/catalog/unmapped-variants").get_data(as_text=True)
    assert "Oak chair" in unmapped and "Desk lamp" not in unmapped
    by_gtin = client.get(f"/console/catalog/variants?q={gtin}").get_data(as_text=True)
    assert "Desk lamp" in by_gtin and "Oak chair" not in by_gtin
    by_title = client.get("/console/catalog/variants?q=oak").get_data(as_text=True)
    assert "Oak chair" in by_title and "Desk lamp" not in by_title
    assert loose


def test_another_vendors_variants_are_not_listed_and_cannot_be_mapped(client, session, network):
    stranger = make_variant(session, network.vendor, sku=unique("X"), title="Secret thing")
    with transaction(session):
        conn = (
            session.query(Connection)
            .filter_by(retailer_id=network.retailer.id, vendor_id=network.vendor.id)
            .one()
        )
        conn.status = "ended"
    sign_in_as(client, session, network.retailer.id, "owner")
    assert "Secret thing" not in client.get("/console/catalog/variants").get_data(as_text=True)
    assert client.get(f"/console/catalog/variants/{stranger}/map").status_code == 404
    response = client.post(
        f"/console/catalog/variants/{stranger}/map",
        data={"csrf_token": token(client), "retailer_sku": "MINE-1", "priority": "0"},
    )
    assert response.status_code == 404
    assert item_of(session, network.retailer.id, "MINE-1") is None


def test_an_operator_maps_a_variant_to_a_new_item_then_sets_its_priority_then_removes_it(
    client, session, network
):
    retailer = network.retailer
    gtin = gtin13(7002)
    variant = make_variant(session, network.vendor, sku=unique("MUG"), title="Mug", gtin=gtin)
    sign_in_as(client, session, retailer.id, "operator")

    form = client.get(f"/console/catalog/variants/{variant}/map?retailer_sku=MY-MUG")
    assert form.status_code == 200
    assert 'value="MY-MUG"' in form.get_data(as_text=True) and gtin in form.get_data(as_text=True)
    mapped = submit(
        client,
        f"/console/catalog/variants/{variant}/map",
        {"retailer_sku": "MY-MUG", "title": "Our mug", "gtin": gtin, "priority": "3"},
    )
    assert mapped.status_code == 302
    item = item_of(session, retailer.id, "MY-MUG")
    assert (item.title, item.gtin) == ("Our mug", gtin)
    assert sources(session, retailer.id, "MY-MUG") == {variant: 3}
    page = client.get(mapped.headers["Location"]).get_data(as_text=True)
    assert "MY-MUG is created" in page and "Our mug" in page

    # The item page's priority form posts to the same mapping: the source gets the new priority.
    again = submit(
        client,
        f"/console/catalog/variants/{variant}/map",
        {"retailer_sku": "MY-MUG", "priority": "1"},
        page=f"/console/catalog/items/{item.id}",
    )
    assert again.status_code == 302
    assert sources(session, retailer.id, "MY-MUG") == {variant: 1}
    assert item_of(session, retailer.id, "MY-MUG").title == "Our mug"  # a blank title keeps it

    removed = submit(
        client,
        f"/console/catalog/items/{item.id}/sources/{variant}/remove",
        {},
        page=f"/console/catalog/items/{item.id}",
    )
    assert removed.status_code == 302
    assert sources(session, retailer.id, "MY-MUG") == {}
    assert item_of(session, retailer.id, "MY-MUG") is not None  # the item stays, unmapped
    assert "MY-MUG" in client.get("/console/catalog/unmapped-items").get_data(as_text=True)

    # The audit log has each change, with the sources before and after.
    fresh(session)
    entries = (
        session.query(AuditEntry)
        .filter_by(org_id=retailer.id, action="item.sources_changed")
        .order_by(AuditEntry.id)
        .all()
    )
    assert [(e.before, e.after["sources"]) for e in entries][0] == (
        None,
        [
            {
                "vendor_variant_id": variant,
                "vendor_id": network.vendor.id,
                "vendor_sku": entries[0].after["sources"][0]["vendor_sku"],
                "priority": 3,
            }
        ],
    )
    assert [e.after["sources"][0]["priority"] for e in entries[:2]] == [3, 1]
    assert entries[2].after == {"sources": []} and entries[2].actor.startswith("user operator")
    assert "item.sources_changed" in client.get("/console/audit-log").get_data(as_text=True)


def test_mapping_makes_the_item_available_through_the_api(client, session, network):
    from tests.order_helpers import set_stock

    retailer = network.retailer
    variant = make_variant(session, network.vendor)
    set_stock(session, network.vendor, variant, 7)
    sign_in_as(client, session, retailer.id, "operator")
    submit(client, f"/console/catalog/variants/{variant}/map", {"retailer_sku": "AVAIL-1", "priority": "0"})
    response = retailer.api.get("/api/v1/availability?sku=AVAIL-1").get_json()
    assert response["data"][0]["available"] == 7


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"retailer_sku": "", "priority": "0"}, "This field is required"),
        ({"retailer_sku": "OK-1", "priority": "-1"}, "Number must be between"),
        ({"retailer_sku": "OK-1", "priority": "0", "gtin": "12345"}, "not a valid GTIN"),
        ({"retailer_sku": "BAD\u202eSKU", "priority": "0"}, "control or invisible"),
    ],
)
def test_a_bad_mapping_is_refused_on_the_form_and_nothing_changes(client, session, network, fields, message):
    variant = make_variant(session, network.vendor)
    sign_in_as(client, session, network.retailer.id, "owner")
    response = submit(client, f"/console/catalog/variants/{variant}/map", fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    fresh(session)
    assert session.query(RetailerItem).filter_by(retailer_id=network.retailer.id).count() == 0


def test_a_viewer_posting_the_forms_directly_gets_403_and_nothing_changes(client, session, network):
    retailer = network.retailer
    gtin = gtin13(7003)
    variant = make_variant(session, network.vendor, gtin=gtin)
    sku = make_item(session, retailer, [variant])
    item = item_of(session, retailer.id, sku)
    waiting = unsourced_item(session, retailer.id, gtin)
    sign_in_as(client, session, retailer.id, "viewer")
    csrf = token(client)
    posts = [
        (f"/console/catalog/variants/{variant}/map", {"retailer_sku": "NEW-1", "priority": "0"}),
        (f"/console/catalog/variants/{variant}/map", {"retailer_sku": sku, "priority": "9"}),
        (f"/console/catalog/items/{item.id}/sources/{variant}/remove", {}),
        ("/console/catalog/gtin-matches", {"match": f"{waiting.id}:{variant}"}),
    ]
    for path, data in posts:
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    assert sources(session, retailer.id, sku) == {variant: 0}
    assert sources(session, retailer.id, waiting.retailer_sku) == {}
    assert item_of(session, retailer.id, "NEW-1") is None
    page = client.get("/console/catalog/gtin-matches").get_data(as_text=True)
    assert waiting.retailer_sku in page and 'type="checkbox"' not in page


def test_another_retailers_items_answer_404_and_stay_as_they_are(client, session, network):
    first, second = network.retailers
    variant = make_variant(session, network.vendor, gtin=gtin13(7004))
    theirs = item_of(session, second.id, make_item(session, second, [variant]))
    waiting = unsourced_item(session, second.id, gtin13(7004))
    sign_in_as(client, session, first.id, "owner")
    csrf = token(client)
    assert client.get(f"/console/catalog/items/{theirs.id}").status_code == 404
    removal = client.post(
        f"/console/catalog/items/{theirs.id}/sources/{variant}/remove", data={"csrf_token": csrf}
    )
    assert removal.status_code == 404
    accept = client.post(
        "/console/catalog/gtin-matches", data={"csrf_token": csrf, "match": f"{waiting.id}:{variant}"}
    )
    assert accept.status_code == 404
    assert sources(session, second.id, theirs.retailer_sku) == {variant: 0}
    assert sources(session, second.id, waiting.retailer_sku) == {}
    assert theirs.retailer_sku not in client.get("/console/catalog").get_data(as_text=True)


def test_gtin_auto_match_suggests_active_vendors_variants_and_accepts_the_checked_ones(
    client, session, network
):
    retailer = network.retailer
    first, second = network.vendors
    lamp, chair, paused_gtin = gtin13(7101), gtin13(7102), gtin13(7103)
    lamp_a = make_variant(session, first, sku=unique("LAMP-A"), gtin=lamp)
    lamp_b = make_variant(session, second, sku=unique("LAMP-B"), gtin=lamp)
    chair_a = make_variant(session, first, sku=unique("CHAIR-A"), gtin=chair)
    make_variant(session, first, sku=unique("OLD"), gtin=gtin13(7104), active=False)
    with transaction(session):
        conn = session.query(Connection).filter_by(retailer_id=retailer.id, vendor_id=second.id).one()
        conn.routing_priority = 1  # routed to before the first vendor (100)
    make_variant(session, network.vendors[1], sku=unique("P"), gtin=paused_gtin)
    lamp_item = unsourced_item(session, retailer.id, lamp, sku="LAMP")
    chair_item = unsourced_item(session, retailer.id, chair, sku="CHAIR")
    unsourced_item(session, retailer.id, gtin13(7104), sku="DISCONTINUED")  # only an inactive variant
    unsourced_item(session, retailer.id, gtin13(7999), sku="NOBODY")  # nobody offers it
    unsourced_item(session, retailer.id, None, sku="NO-GTIN")
    sign_in_as(client, session, retailer.id, "operator")

    page = client.get("/console/catalog/gtin-matches").get_data(as_text=True)
    assert "LAMP" in page and "CHAIR" in page
    assert "DISCONTINUED" not in page and "NOBODY" not in page and "NO-GTIN" not in page
    assert page.index(f'value="{lamp_item.id}:{lamp_b}"') < page.index(f'value="{lamp_item.id}:{lamp_a}"')

    # Both lamp sources and not the chair's: one POST, the checked boxes only.
    accepted = submit(
        client,
        "/console/catalog/gtin-matches",
        {"match": [f"{lamp_item.id}:{lamp_a}", f"{lamp_item.id}:{lamp_b}"]},
    )
    assert accepted.status_code == 302
    # In the retailer's routing order: the second vendor first.
    assert sources(session, retailer.id, "LAMP") == {lamp_b: 0, lamp_a: 1}
    assert sources(session, retailer.id, "CHAIR") == {}
    after = client.get("/console/catalog/gtin-matches").get_data(as_text=True)
    assert "1 item got new sources" in after
    assert f'value="{chair_item.id}:{chair_a}"' in after and f"{lamp_item.id}:" not in after


def test_a_paused_vendor_is_not_suggested_and_a_stale_pick_changes_nothing(client, session, network):
    retailer = network.retailer
    gtin = gtin13(7201)
    variant = make_variant(session, network.vendor, gtin=gtin)
    other = make_variant(session, network.vendor, gtin=gtin13(7202))
    item = unsourced_item(session, retailer.id, gtin)
    sign_in_as(client, session, retailer.id, "operator")
    assert item.retailer_sku in client.get("/console/catalog/gtin-matches").get_data(as_text=True)

    # A pick whose variant does not carry the item's GTIN (a forged or stale form): refused, all of it.
    csrf = token(client)
    refused = client.post(
        "/console/catalog/gtin-matches",
        data={"csrf_token": csrf, "match": [f"{item.id}:{variant}", f"{item.id}:{other}"]},
    )
    assert refused.status_code == 422 and "no longer matches" in refused.get_data(as_text=True)
    garbage = client.post("/console/catalog/gtin-matches", data={"csrf_token": csrf, "match": "x:1"})
    assert garbage.status_code == 422 and "could not be read" in garbage.get_data(as_text=True)
    assert sources(session, retailer.id, item.retailer_sku) == {}

    with transaction(session):
        conn = session.query(Connection).filter_by(retailer_id=retailer.id, vendor_id=network.vendor.id).one()
        conn.status = "paused"
    assert item.retailer_sku not in client.get("/console/catalog/gtin-matches").get_data(as_text=True)
    paused = client.post(
        "/console/catalog/gtin-matches", data={"csrf_token": csrf, "match": f"{item.id}:{variant}"}
    )
    assert paused.status_code == 422
    assert sources(session, retailer.id, item.retailer_sku) == {}


@pytest.mark.parametrize(
    "path",
    [
        "/console/catalog",
        "/console/catalog/unmapped-items",
        "/console/catalog/variants",
        "/console/catalog/unmapped-variants",
        "/console/catalog/gtin-matches",
    ],
)
def test_the_lists_run_the_same_few_queries_for_a_few_rows_or_a_page(client, session, network, path):
    retailer = network.retailer

    def grow(n: int, start: int) -> None:
        for i in range(n):
            gtin = gtin13(start + i)
            a = make_variant(session, network.vendor, gtin=gtin)
            b = make_variant(session, network.vendors[1], gtin=gtin)
            make_item(session, retailer, [a, b])
            make_variant(session, network.vendor)
            unsourced_item(session, retailer.id, gtin)

    grow(2, 8000)
    sign_in_as(client, session, retailer.id, "viewer")

    def count() -> int:
        with counting() as statements:
            assert client.get(path + "?limit=5").status_code == 200
        return len(statements)

    few = count()
    grow(8, 8100)
    many = count()
    assert few == many <= 6
    assert "Next page" in client.get(path + "?limit=5").get_data(as_text=True)


def test_the_lists_page_by_keyset(client, session, network):
    retailer = network.retailer
    skus = [
        make_item(session, retailer, [make_variant(session, network.vendor)], sku=f"PG-{i:02d}")
        for i in range(7)
    ]
    sign_in_as(client, session, retailer.id, "viewer")
    first = client.get("/console/catalog?limit=5").get_data(as_text=True)
    assert all(s in first for s in skus[:5]) and skus[5] not in first
    item = item_of(session, retailer.id, skus[4])
    second = client.get(f"/console/catalog?limit=5&after={item.id}").get_data(as_text=True)
    assert skus[5] in second and skus[6] in second and skus[4] not in second
    assert "Next page" not in second
    assert session.query(ItemSource).count() == 7


def test_the_api_sets_an_items_gtin_and_its_changes_are_audited_like_the_consoles(client, session, network):
    retailer = network.retailer
    gtin = gtin13(7301)
    variant = make_variant(session, network.vendor, sku=unique("API"), gtin=gtin)
    created = retailer.api.put("/api/v1/items/API-1", json={"title": "Kettle", "gtin": gtin, "sources": []})
    assert created.status_code == 201 and created.get_json()["gtin"] == gtin
    bad = retailer.api.put("/api/v1/items/API-1", json={"gtin": "12345678", "sources": []})
    assert bad.status_code == 422 and "gtin" in bad.get_json()["errors"]
    # A PUT without a gtin keeps it.
    assert retailer.api.put("/api/v1/items/API-1", json={"sources": []}).get_json()["gtin"] == gtin

    # The item the API listed alone is what the console's auto-match suggests a source for.
    sign_in_as(client, session, retailer.id, "operator")
    item = item_of(session, retailer.id, "API-1")
    assert f'value="{item.id}:{variant}"' in client.get("/console/catalog/gtin-matches").get_data(
        as_text=True
    )

    mapped = retailer.api.put(
        "/api/v1/items/API-1", json={"sources": [{"vendor_variant_id": variant, "priority": 2}]}
    )
    assert mapped.status_code == 200
    cleared = retailer.api.put(
        "/api/v1/items/API-1", json={"gtin": None, "sources": mapped.get_json()["sources"]}
    )
    assert cleared.get_json()["gtin"] is None
    fresh(session)
    entries = (
        session.query(AuditEntry)
        .filter_by(org_id=retailer.id, action="item.sources_changed")
        .order_by(AuditEntry.id)
        .all()
    )
    # Created, then its sources changed once: PUTs that leave the sources as they are add nothing.
    assert [(e.before, [s["priority"] for s in e.after["sources"]]) for e in entries] == [
        (None, []),
        ({"sources": []}, [2]),
    ]
    assert all(e.actor.startswith("API client ") for e in entries)
