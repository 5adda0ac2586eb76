"""Purchase-order transitions and snapshots keep `committed` exact (DESIGN §4), through the services."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from network.catalog import services as catalog
from network.catalog.services import SourceSpec
from network.db import transaction
from network.errors import IllegalTransition
from network.feeds.parsing import FeedFormat
from network.feeds.services import FeedReceipt, receive_feed
from network.orders import returns, services
from network.orders.placement import LineInput, place_order
from network.orders.services import LineQuantity
from network.partners import services as partners
from network.stock.models import StockLedgerEntry, StockPosition
from tests.builders import unique

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
SHIP_TO = {"name": "A", "address1": "B", "city": "C", "postal_code": "1", "country": "US"}


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


class Shop:
    """One vendor, one retailer, one variant sold as one item; every call is its own unit of work."""

    def __init__(self, session) -> None:
        self.s = session
        with transaction(session):
            self.vendor = partners.create_organization(session, kind="vendor", name=unique("V"), now=T0).id
            self.retailer = partners.create_organization(
                session, kind="retailer", name=unique("R"), now=T0
            ).id
            partners.connect(session, retailer_id=self.retailer, vendor_id=self.vendor, now=T0)
            self.sku = unique("VS")
            variant, _ = catalog.upsert_variant(
                session, vendor_id=self.vendor, vendor_sku=self.sku, title="t", cost=Decimal(1), now=T0
            )
            self.variant = variant.id
            item, _ = catalog.put_item(
                session,
                retailer_id=self.retailer,
                retailer_sku=unique("I"),
                title="t",
                sources=[SourceSpec(self.variant, 0)],
                now=T0,
            )
            self.item = item.retailer_sku

    def feed(
        self,
        quantity: int,
        *,
        as_of: dt.datetime,
        basis: str = "available",
        now: dt.datetime | None = None,
        **extra,
    ):
        rows = [{"sku": self.sku, "quantity": quantity, **extra}]
        receipt = FeedReceipt(
            vendor_id=self.vendor,
            transport="push",
            mode="delta",
            basis=basis,
            data=json.dumps(rows).encode(),
            fmt=FeedFormat(kind="json"),
            as_of=as_of,
            records=rows,
        )
        with transaction(self.s):
            return receive_feed(self.s, receipt, now=now or as_of)

    def order(self, quantity: int, *, now: dt.datetime):
        with transaction(self.s):
            order = place_order(
                self.s,
                retailer_id=self.retailer,
                reference="R",
                lines=[LineInput(self.item, quantity)],
                ship_to=SHIP_TO,
                now=now,
            )
            po = order.purchase_orders[0]
            return order.id, order.lines[0].id, po.id, po.lines[0].id

    def vendor_does(self, action, po_id: int, *, now: dt.datetime, **kwargs):
        with transaction(self.s):
            return action(self.s, vendor_id=self.vendor, po_id=po_id, now=now, **kwargs)

    @property
    def committed(self) -> int:
        self.s.expire_all()
        value = self.s.get(StockPosition, self.variant).committed
        self.s.rollback()
        return value


@pytest.fixture
def shop(session) -> Shop:
    return Shop(session)


def test_a_snapshot_before_the_ack_still_counts_the_order(shop):
    shop.feed(10, as_of=at(0))
    _, _, po, _ = shop.order(3, now=at(5))
    shop.vendor_does(services.acknowledge, po, lines=None, now=at(10))
    shop.feed(10, as_of=at(8), now=at(12))  # counted before the ack: the order is not in it
    assert shop.committed == 3


def test_a_snapshot_after_the_ack_already_excludes_the_order(shop):
    shop.feed(10, as_of=at(0))
    _, _, po, _ = shop.order(3, now=at(5))
    shop.vendor_does(services.acknowledge, po, lines=None, now=at(10))
    shop.feed(7, as_of=at(11))
    assert shop.committed == 0
    reasons = list(
        shop.s.scalars(
            sa.select(StockLedgerEntry.reason)
            .where(StockLedgerEntry.variant_id == shop.variant)
            .order_by(StockLedgerEntry.id)
        )
    )
    assert reasons[-1] == "recompute" and "reserve" in reasons


def test_on_hand_counts_units_until_a_snapshot_after_their_shipment(shop):
    shop.feed(10, as_of=at(0), basis="on_hand")
    _, _, po, line = shop.order(5, now=at(1))
    shop.vendor_does(services.acknowledge, po, lines=None, now=at(2))
    shop.feed(10, as_of=at(3), basis="on_hand")
    assert shop.committed == 5  # acknowledged but still on the shelf
    shop.vendor_does(
        services.ship, po, carrier="UPS", tracking_number="1", lines=[LineQuantity(line, 2)], now=at(4)
    )
    shop.feed(8, as_of=at(5), basis="on_hand")
    assert shop.committed == 3
    shop.vendor_does(
        services.ship, po, carrier="UPS", tracking_number="2", lines=[LineQuantity(line, 3)], now=at(6)
    )
    assert shop.committed == 3  # nothing moves until a count reflects the shipment
    shop.feed(5, as_of=at(7), basis="on_hand")
    assert shop.committed == 0


def test_units_shipped_after_an_available_count_count_again_when_an_older_on_hand_count_comes(shop):
    # Found by test_inflight_stateful: the acknowledged line is reflected in the `available` count
    # when it ships, but an on-hand count taken before the shipment still has its units on the shelf.
    shop.feed(10, as_of=at(0))
    _, _, po, line = shop.order(2, now=at(1))
    shop.vendor_does(services.acknowledge, po, lines=None, now=at(2))
    shop.feed(10, as_of=at(3))
    assert shop.committed == 0  # the vendor's available count already excludes the order
    shop.vendor_does(
        services.ship, po, carrier="UPS", tracking_number="1", lines=[LineQuantity(line, 2)], now=at(5)
    )
    shop.feed(10, as_of=at(4), basis="on_hand", now=at(6))
    assert shop.committed == 2
    shop.feed(8, as_of=at(7), basis="on_hand")
    assert shop.committed == 0


def test_cancelling_reflected_units_releases_nothing_and_unreflected_ones_exactly_once(shop):
    shop.feed(10, as_of=at(0))
    _, _, po, line = shop.order(4, now=at(1))
    shop.vendor_does(services.acknowledge, po, lines=None, now=at(2))
    assert shop.committed == 4
    shop.vendor_does(services.cancel_by_vendor, po, lines=[LineQuantity(line, 1)], reason="x", now=at(3))
    assert shop.committed == 3
    shop.feed(7, as_of=at(4))  # the vendor's count now excludes the acknowledged line
    assert shop.committed == 0
    shop.vendor_does(services.cancel_by_vendor, po, lines=[LineQuantity(line, 2)], reason="x", now=at(5))
    assert shop.committed == 0  # those units were never held back by the hub any more
    with pytest.raises(IllegalTransition):
        shop.vendor_does(services.cancel_by_vendor, po, lines=[LineQuantity(line, 2)], reason="x", now=at(6))
    assert shop.committed == 0


def test_re_sent_acknowledgements_and_repeated_partial_cancels_never_double_count(shop):
    shop.feed(20, as_of=at(0))
    order_id, order_line, po, line = shop.order(6, now=at(1))
    for minute in (2, 3, 4):
        shop.vendor_does(services.acknowledge, po, lines=None, now=at(minute))
    for minute in (5, 6):
        with transaction(shop.s):
            services.cancel_by_retailer(
                shop.s,
                retailer_id=shop.retailer,
                order_id=order_id,
                lines=[LineQuantity(order_line, 2)],
                now=at(minute),
            )
    assert shop.committed == 2
    shop.feed(20, as_of=at(3))  # a late count from between the first ack and the cancels
    assert shop.committed == 0  # the ack at minute 2 is reflected; cancels do not bring units back


def test_grading_floors_pending_inspection_when_the_vendors_feed_already_cleared_it(shop):
    shop.feed(3, as_of=at(0))
    order_id, order_line, po, line = shop.order(3, now=at(1))
    shop.vendor_does(
        services.ship, po, carrier="UPS", tracking_number="1", lines=[LineQuantity(line, 3)], now=at(2)
    )
    with transaction(shop.s):
        (ret,) = returns.open_return(
            shop.s,
            retailer_id=shop.retailer,
            order_id=order_id,
            lines=[LineQuantity(order_line, 3)],
            reason="dented",
            now=at(3),
        )
        ret_id = ret.id
    with transaction(shop.s):
        returns.receive_return(shop.s, vendor_id=shop.vendor, return_id=ret_id, quantity=3, now=at(4))
    shop.feed(0, as_of=at(5), pending_inspection=0, damaged=3)  # the vendor's own system reports it first
    with transaction(shop.s):
        returns.grade_return(
            shop.s, vendor_id=shop.vendor, return_id=ret_id, resellable=0, damaged=3, now=at(6)
        )
    shop.s.expire_all()
    pos = shop.s.get(StockPosition, shop.variant)
    assert (pos.quantity, pos.pending_inspection) == (0, 0)  # never negative, never sellable
