"""The API's one-statement availability read gives the figures the two-statement read gives."""

from __future__ import annotations

from sqlalchemy.orm import Session

from network.availability.reads import read_published
from network.availability.services import read_availability
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.partners import services as partners
from tests.builders import make_item, make_variant
from tests.order_helpers import set_stock


def _catalog(session, network) -> list[str]:
    """Items with no source, one, two (one vendor's connection paused), and a source with no stock row."""
    retailer, (first, second) = network.retailer, network.vendors
    a, b, c = (make_variant(session, first) for _ in range(3))
    d = make_variant(session, second)
    set_stock(session, first, a, 7)
    set_stock(session, first, b, 3)
    set_stock(session, second, d, 11)
    skus = [
        make_item(session, retailer, []),
        make_item(session, retailer, [a]),
        make_item(session, retailer, [b, d]),
        make_item(session, retailer, [d, a, b]),
        make_item(session, retailer, [c]),  # never counted: no position yet
    ]
    make_item(session, network.retailers[1], [a, d])  # another retailer's: never in this one's pages
    with transaction(session):
        partners.update_connection_terms(
            session,
            partners.connect(session, retailer_id=retailer.id, vendor_id=second.id, now=utcnow()).id,
            retailer_id=retailer.id,
            terms={"status": "paused", "safety_buffer": 2},
            now=utcnow(),
        )
    return skus


def test_pages_and_sku_lists_read_the_same_as_the_two_statement_read(session, network):
    skus = _catalog(session, network)
    retailer_id, now = network.retailer.id, utcnow()
    # A session with no transaction yet: on PostgreSQL the read runs in autocommit, one statement.
    fresh = Session(bind=db.engine)
    try:
        for args in (
            {"skus": None, "after_id": 0, "limit": 100},
            {"skus": None, "after_id": 0, "limit": 2},
            {"skus": skus[1:3], "after_id": 0, "limit": 100},
            {"skus": [f" {skus[3]} ", "NO-SUCH-SKU"], "after_id": 0, "limit": 100},
            {"skus": [skus[0]], "after_id": 0, "limit": 100},
        ):
            expected = read_availability(session, retailer_id=retailer_id, now=now, **args)
            session.rollback()
            assert fresh.in_transaction() is False
            got = read_published(fresh, retailer_id=retailer_id, now=now, **args)
            fresh.rollback()
            assert got == expected
            assert got  # every case reads something
        page = read_published(fresh, retailer_id=retailer_id, skus=None, after_id=0, limit=100, now=now)
        assert [i.retailer_sku for i in page] == skus
        assert [i.available for i in page] == [0, 7, 3, 10, 0]  # the paused vendor's units do not count
        after = read_published(
            fresh, retailer_id=retailer_id, skus=None, after_id=page[1].item_id, limit=2, now=now
        )
        assert after == page[2:4]
    finally:
        fresh.close()
