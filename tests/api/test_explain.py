"""GET /api/v1/availability/{sku}/explain: why an item shows its figure, source by source; the figure
is always the one GET /api/v1/availability publishes (the same code computes both)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.availability.models import VariantHold
from network.availability.services import publish_changes
from network.catalog.models import RetailerItem, VendorVariant
from network.clock import utcnow
from network.db import transaction
from network.orders.explain import explain
from network.partners.models import Connection
from network.stock.models import StockPosition, StockSnapshot
from tests.builders import availability, make_item, make_org, make_variant, push_json, unique
from tests.flag_helpers import order_of, po_action
from tests.order_helpers import stocked_item


def explained(retailer, sku: str) -> dict:
    response = retailer.api.get(f"/api/v1/availability/{sku}/explain")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def set_terms(session, retailer_id: int, vendor_id: int, **terms) -> None:
    with transaction(session):
        session.execute(
            sa.update(Connection)
            .where(Connection.retailer_id == retailer_id, Connection.vendor_id == vendor_id)
            .values(**terms)
        )


def test_each_source_shows_its_count_committed_lines_buffer_and_figure(session, network):
    retailer, other = network.retailers
    vendor, second = network.vendors
    variant, sku = stocked_item(session, vendor, [retailer, other], 10, sku="LAMP")
    spare = make_variant(session, second, "LAMP-B")
    make_item(session, retailer, [variant, spare], sku=sku)  # the same item, a second source
    push_json(second, [{"sku": "LAMP-B", "quantity": 4, "incoming": 12, "incoming_eta": "2031-05-01"}])
    set_terms(session, retailer.id, vendor.id, safety_buffer=2)
    mine = order_of(retailer, sku, 3)
    theirs = order_of(other, sku, 1)
    assert (mine["vendor"], theirs["vendor"]) == (vendor.id, vendor.id)

    body = explained(retailer, sku)
    published = availability(retailer, sku)
    assert body["available"] == published["available"] == (10 - 4 - 2) + 4
    assert body["retailer_sku"] == sku and body["title"] == "Item"
    first, backup = body["sources"]
    assert (first["vendor_variant_id"], first["vendor_sku"], first["priority"]) == (variant, "LAMP", 0)
    assert (first["quantity"], first["basis"], first["committed"], first["buffer"]) == (10, "available", 4, 2)
    # Only the caller's own lines are itemized; the other retailer's unit is summed.
    assert first["committed_lines"] == [
        {"purchase_order_id": mine["po"], "line_id": mine["po_line"], "quantity": 3}
    ]
    assert first["committed_elsewhere"] == 1
    assert (first["held"], first["stale"], first["excluded_by"], first["available"]) == (False, False, [], 4)
    assert first["connection_status"] == "active" and first["predicted_depletion"] is None
    assert first["as_of"] is not None and first["stale_after_minutes"] == 24 * 60
    assert (backup["vendor_sku"], backup["available"], backup["buffer"]) == ("LAMP-B", 4, 0)
    assert (backup["incoming"], backup["incoming_eta"]) == (12, "2031-05-01")
    # The sources in the published list are the same ones with the same figures.
    assert [(s["vendor_variant_id"], s["available"], s["stale"]) for s in published["sources"]] == [
        (s["vendor_variant_id"], s["available"], s["stale"]) for s in body["sources"]
    ]

    # Acknowledged: an `available`-basis count taken later reflects the line; the vendor's next
    # count then no longer shows it as committed.
    po_action(vendor, mine["po"], "acknowledge")
    push_json(vendor, [{"sku": "LAMP", "quantity": 7}], mode="delta")
    first = explained(retailer, sku)["sources"][0]
    assert (first["quantity"], first["committed"], first["committed_lines"]) == (7, 1, [])
    assert first["committed_elsewhere"] == 1


def test_a_source_counting_zero_says_why(session, network):
    retailer = network.retailer
    vendor, second = network.vendors
    held = make_variant(session, vendor, "HELD")
    off = make_variant(session, second, "OFF")
    sku = make_item(session, retailer, [held, off])
    push_json(vendor, [{"sku": "HELD", "quantity": 5}], mode="delta")
    push_json(second, [{"sku": "OFF", "quantity": 5}], mode="delta")
    now = utcnow()
    with transaction(session):
        session.add(
            VariantHold(
                variant_id=held,
                vendor_id=vendor.id,
                reason="oversell",
                detail={},
                placed_at=now,
                until=now + dt.timedelta(hours=6),
            )
        )
        session.get(VendorVariant, off).active = False
    set_terms(session, retailer.id, second.id, status="paused")

    body = explained(retailer, sku)
    assert body["available"] == availability(retailer, sku)["available"] == 0
    by_sku = {s["vendor_sku"]: s for s in body["sources"]}
    assert by_sku["HELD"]["held"] is True and by_sku["HELD"]["excluded_by"] == ["on_hold"]
    assert by_sku["HELD"]["hold_until"] is not None and by_sku["HELD"]["quantity"] == 5
    assert by_sku["OFF"]["excluded_by"] == ["connection_inactive", "variant_inactive"]
    assert (by_sku["OFF"]["connection_status"], by_sku["OFF"]["variant_active"]) == ("paused", False)


def test_a_stale_count_and_a_never_counted_source_say_so(session, network):
    retailer, vendor = network.retailer, network.vendor
    old = make_variant(session, vendor, "OLD")
    never = make_variant(session, vendor, "NEVER")
    sku = make_item(session, retailer, [old, never])
    three_hours_ago = (utcnow() - dt.timedelta(hours=3)).isoformat()
    push_json(vendor, [{"sku": "OLD", "quantity": 8}], mode="delta", as_of=three_hours_ago)
    set_terms(session, retailer.id, vendor.id, stale_after_minutes=120)
    first, second = explained(retailer, sku)["sources"]
    assert (first["stale"], first["excluded_by"], first["quantity"], first["available"]) == (
        True,
        ["stale"],
        8,
        0,
    )
    assert first["stale_after_minutes"] == 120 and first["as_of"].startswith(three_hours_ago[:16])
    assert (second["as_of"], second["stale"], second["excluded_by"]) == (None, True, ["stale"])


def test_an_unknown_or_another_retailers_sku_is_a_404_problem(session, network, client):
    retailer, other = network.retailers
    _, sku = stocked_item(session, network.vendor, [retailer], 3)
    for party, path in ((other, sku), (retailer, "NO-SUCH-SKU")):
        response = party.api.get(f"/api/v1/availability/{path}/explain")
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 404
    # The scope is availability:read, as for the published figures.
    catalog_only = make_org(session, client, "retailer", scopes=["catalog:read"])
    assert catalog_only.api.get(f"/api/v1/availability/{sku}/explain").status_code in (403, 404)
    assert (
        retailer.api.get(f"/api/v1/availability/{sku}/explain", headers={"Authorization": ""}).status_code
        == 401
    )


# One source's state, drawn at random: the vendor's count and its age, what is committed, the
# connection's terms, a hold, the variant switched off. Ages are whole minutes and a half, limits
# whole minutes, so that no count turns stale between two requests of one example.
SOURCE = st.fixed_dictionaries(
    {
        "vendor": st.integers(0, 1),
        "quantity": st.integers(0, 40),
        "committed": st.integers(0, 45),
        "age": st.none() | st.integers(0, 300),
        "basis": st.sampled_from(["available", "on_hand"]),
        "held": st.booleans(),
        "active": st.booleans(),
        "incoming": st.integers(0, 5),
    }
)
TERMS = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["active", "active", "paused", "ended"]),
        "safety_buffer": st.integers(0, 8),
        "stale_after_minutes": st.integers(1, 240),
    }
)
SNAPSHOT_AGE = st.none() | st.integers(0, 300)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sources=st.lists(SOURCE, min_size=1, max_size=4),
    terms=st.tuples(TERMS, TERMS),
    snapshots=st.tuples(SNAPSHOT_AGE, SNAPSHOT_AGE),
)
def test_the_explained_figure_is_always_the_published_one(session, network, sources, terms, snapshots):
    retailer, vendors = network.retailer, network.vendors
    for vendor in vendors:  # an item is made through connections the retailer may still source from
        set_terms(session, retailer.id, vendor.id, status="active")
    variants = [make_variant(session, vendors[s["vendor"]], unique("PROP")) for s in sources]
    sku = make_item(session, retailer, variants)

    now = utcnow()

    def ago(minutes: int | None) -> dt.datetime | None:
        return None if minutes is None else now - dt.timedelta(minutes=minutes, seconds=30)

    with transaction(session):
        for variant_id, s in zip(variants, sources, strict=True):
            position = session.get(StockPosition, variant_id)
            position.quantity, position.committed, position.basis = s["quantity"], s["committed"], s["basis"]
            position.as_of, position.incoming = ago(s["age"]), s["incoming"]
            session.get(VendorVariant, variant_id).active = s["active"]
            if s["held"]:
                session.add(
                    VariantHold(
                        variant_id=variant_id,
                        vendor_id=vendors[s["vendor"]].id,
                        reason="oversell",
                        detail={},
                        placed_at=now,
                        until=now + dt.timedelta(hours=1),
                    )
                )
        for vendor, age, vendor_terms in zip(vendors, snapshots, terms, strict=True):
            session.execute(sa.delete(StockSnapshot).where(StockSnapshot.vendor_id == vendor.id))
            if age is not None:
                session.add(StockSnapshot(vendor_id=vendor.id, as_of=ago(age), applied_at=now))
            session.execute(
                sa.update(Connection)
                .where(Connection.retailer_id == retailer.id, Connection.vendor_id == vendor.id)
                .values(**vendor_terms)
            )

    body = explained(retailer, sku)
    assert body["available"] == availability(retailer, sku)["available"]
    assert body["available"] == sum(source["available"] for source in body["sources"])
    for source in body["sources"]:
        if not source["excluded_by"]:
            assert source["available"] == max(0, source["quantity"] - source["committed"] - source["buffer"])
        else:
            assert source["available"] == 0

    # And the figure sent to the retailer's webhooks and storefronts, at one moment.
    at = utcnow()
    with transaction(session):
        publish_changes(session, [_item_id(session, retailer.id, sku)], now=at)
    published = session.scalar(
        sa.select(RetailerItem.published_available).where(RetailerItem.retailer_sku == sku)
    )
    assert published == explain(session, retailer_id=retailer.id, retailer_sku=sku, now=at).available
    session.rollback()


def _item_id(session, retailer_id: int, sku: str) -> int:
    return session.scalar(
        sa.select(RetailerItem.id).where(
            RetailerItem.retailer_id == retailer_id, RetailerItem.retailer_sku == sku
        )
    )
