"""Random histories of feeds, orders, acks, shipments, cancels, returns and gradings keep the books exact.

After every step, each position's `committed` equals a brute-force recomputation of the in-flight
rule over all its live purchase-order lines, and availability equals the DESIGN §5 formula; an
order is accepted exactly when the item's availability covers it.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from network.availability.services import read_availability
from network.catalog import services as catalog
from network.catalog.services import SourceSpec
from network.db import transaction
from network.errors import DomainError, OutOfStock
from network.feeds.parsing import FeedFormat
from network.feeds.services import FeedReceipt, receive_feed
from network.orders import returns, services
from network.orders.models import PurchaseOrderLine, Return, Shipment, ShipmentLine
from network.orders.placement import LineInput, place_order
from network.orders.services import LineQuantity
from network.partners import services as partners
from network.stock.models import StockPosition, StockSnapshot
from network.stock.rules import InFlightLine, committed_units, effective_as_of
from tests.builders import unique

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
SHIP_TO = {"name": "A", "address1": "B", "city": "C", "postal_code": "1", "country": "US"}


def brute_force_committed(session, variant_id: int) -> int:
    """The in-flight rule over every live line of the variant, from scratch (no settled shortcut)."""
    pos = session.get(StockPosition, variant_id)
    snapshot = session.get(StockSnapshot, pos.vendor_id)
    as_of = effective_as_of(pos.as_of, snapshot.as_of if snapshot else None)
    lines = []
    for line in session.scalars(
        sa.select(PurchaseOrderLine).where(PurchaseOrderLine.variant_id == variant_id)
    ):
        shipments = session.execute(
            sa.select(Shipment.shipped_at, ShipmentLine.quantity)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .where(ShipmentLine.po_line_id == line.id)
        ).all()
        live = line.ordered - line.cancelled - line.rejected
        lines.append(InFlightLine(live, line.acknowledged_at, tuple((at, q) for at, q in shipments)))
    return committed_units(lines, basis=pos.basis, as_of=as_of)


class OrderBooks(RuleBasedStateMachine):
    session = None  # set by the test

    @initialize()
    def world(self):
        s = self.session
        self.now = T0
        with transaction(s):
            vendor = partners.create_organization(s, kind="vendor", name=unique("V"), now=T0)
            retailer = partners.create_organization(s, kind="retailer", name=unique("R"), now=T0)
            partners.connect(s, retailer_id=retailer.id, vendor_id=vendor.id, safety_buffer=1, now=T0)
            self.vendor_id, self.retailer_id = vendor.id, retailer.id
            self.skus = [unique("VS"), unique("VS")]
            self.variants = [
                catalog.upsert_variant(
                    s, vendor_id=vendor.id, vendor_sku=sku, title="t", cost=Decimal(c), now=T0
                )[0].id
                for sku, c in zip(self.skus, ("5", "6"), strict=True)
            ]
            # Item A draws on the first variant only; item B on both: they share the first one's units.
            self.items = {}
            for name, sources in (("A", self.variants[:1]), ("B", self.variants)):
                item, _ = catalog.put_item(
                    s,
                    retailer_id=retailer.id,
                    retailer_sku=unique(name),
                    title=name,
                    sources=[SourceSpec(v, p) for p, v in enumerate(sources)],
                    now=T0,
                )
                self.items[name] = item.retailer_sku
        self.orders: list[tuple[int, int]] = []  # (order id, order line id)
        self.po_lines: list[tuple[int, int]] = []  # (po id, po line id)
        self.returns: list[int] = []

    def _do(self, work):
        try:
            with transaction(self.session):
                return work(self.session)
        except DomainError:
            return None
        finally:
            self.session.expire_all()

    # --- the vendor's counts ----------------------------------------------------------------

    @rule(
        which=st.integers(0, 1),
        quantity=st.integers(0, 8),
        basis=st.sampled_from(["available", "on_hand"]),
        offset=st.integers(-90, 10),
        pending=st.none() | st.integers(0, 3),
    )
    def delta_feed(self, which, quantity, basis, offset, pending):
        row = {"sku": self.skus[which], "quantity": quantity}
        if pending is not None:
            row["pending_inspection"] = pending
        self._feed("delta", basis, [row], offset)

    @rule(
        quantities=st.tuples(st.integers(1, 8), st.integers(1, 8)),
        basis=st.sampled_from(["available", "on_hand"]),
        offset=st.integers(-90, 10),
    )
    def full_feed(self, quantities, basis, offset):
        rows = [{"sku": sku, "quantity": q} for sku, q in zip(self.skus, quantities, strict=True)]
        self._feed("full", basis, rows, offset)

    def _feed(self, mode, basis, rows, offset):
        as_of = self.now + dt.timedelta(minutes=offset)
        data = json.dumps({"rows": rows}).encode()
        receipt = FeedReceipt(
            vendor_id=self.vendor_id,
            transport="push",
            mode=mode,
            basis=basis,
            data=data,
            fmt=FeedFormat(kind="json"),
            as_of=as_of,
            records=rows,
        )
        self._do(lambda s: receive_feed(s, receipt, now=self.now))

    @rule(minutes=st.integers(1, 45))
    def tick(self, minutes):
        self.now += dt.timedelta(minutes=minutes)

    # --- the retailer -----------------------------------------------------------------------

    @rule(item=st.sampled_from(["A", "B"]), quantity=st.integers(1, 5))
    def order(self, item, quantity):
        sku = self.items[item]
        (before,) = read_availability(
            self.session, retailer_id=self.retailer_id, skus=[sku], after_id=0, limit=1, now=self.now
        )
        self.session.rollback()
        try:
            with transaction(self.session):
                order = place_order(
                    self.session,
                    retailer_id=self.retailer_id,
                    reference="R",
                    lines=[LineInput(sku, quantity)],
                    ship_to=SHIP_TO,
                    now=self.now,
                )
                accepted = True
                self.orders.append((order.id, order.lines[0].id))
                self.po_lines += [(pl.po_id, pl.id) for po in order.purchase_orders for pl in po.lines]
        except OutOfStock:
            accepted = False
        self.session.expire_all()
        assert accepted == (quantity <= before.available), (quantity, before.available)

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 100), quantity=st.none() | st.integers(1, 4))
    def retailer_cancel(self, pick, quantity):
        order_id, line_id = self.orders[pick % len(self.orders)]
        lines = None if quantity is None else [LineQuantity(line_id, quantity)]
        self._do(
            lambda s: services.cancel_by_retailer(
                s, retailer_id=self.retailer_id, order_id=order_id, lines=lines, now=self.now
            )
        )

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 100), quantity=st.integers(1, 3))
    def open_return(self, pick, quantity):
        order_id, line_id = self.orders[pick % len(self.orders)]
        opened = self._do(
            lambda s: [
                r.id
                for r in returns.open_return(
                    s,
                    retailer_id=self.retailer_id,
                    order_id=order_id,
                    lines=[LineQuantity(line_id, quantity)],
                    reason="r",
                    now=self.now,
                )
            ]
        )
        self.returns += opened or []

    # --- the vendor -------------------------------------------------------------------------

    @precondition(lambda self: self.po_lines)
    @rule(pick=st.integers(0, 100), quantity=st.none() | st.integers(1, 4))
    def acknowledge(self, pick, quantity):
        po_id, line_id = self.po_lines[pick % len(self.po_lines)]
        lines = None if quantity is None else [LineQuantity(line_id, quantity)]
        self._do(
            lambda s: services.acknowledge(
                s, vendor_id=self.vendor_id, po_id=po_id, lines=lines, now=self.now
            )
        )

    @precondition(lambda self: self.po_lines)
    @rule(pick=st.integers(0, 100), quantity=st.integers(1, 4))
    def ship(self, pick, quantity):
        po_id, line_id = self.po_lines[pick % len(self.po_lines)]
        self._do(
            lambda s: services.ship(
                s,
                vendor_id=self.vendor_id,
                po_id=po_id,
                carrier="UPS",
                tracking_number="1Z",
                lines=[LineQuantity(line_id, quantity)],
                now=self.now,
            )
        )

    @precondition(lambda self: self.po_lines)
    @rule(pick=st.integers(0, 100), quantity=st.none() | st.integers(1, 4), rejecting=st.booleans())
    def vendor_cancel_or_reject(self, pick, quantity, rejecting):
        po_id, line_id = self.po_lines[pick % len(self.po_lines)]
        lines = None if quantity is None else [LineQuantity(line_id, quantity)]
        act = services.reject if rejecting else services.cancel_by_vendor
        self._do(
            lambda s: act(s, vendor_id=self.vendor_id, po_id=po_id, lines=lines, reason="x", now=self.now)
        )

    @precondition(lambda self: self.returns)
    @rule(pick=st.integers(0, 100), quantity=st.integers(1, 3))
    def receive(self, pick, quantity):
        return_id = self.returns[pick % len(self.returns)]
        self._do(
            lambda s: returns.receive_return(
                s, vendor_id=self.vendor_id, return_id=return_id, quantity=quantity, now=self.now
            )
        )

    @precondition(lambda self: self.returns)
    @rule(pick=st.integers(0, 100), resellable=st.integers(0, 2), damaged=st.integers(0, 2))
    def grade(self, pick, resellable, damaged):
        return_id = self.returns[pick % len(self.returns)]
        self._do(
            lambda s: returns.grade_return(
                s,
                vendor_id=self.vendor_id,
                return_id=return_id,
                resellable=resellable,
                damaged=damaged,
                now=self.now,
            )
        )

    # --- what must always hold ---------------------------------------------------------------

    @invariant()
    def committed_is_exact(self):
        s = self.session
        s.expire_all()
        for variant_id in self.variants:
            assert s.get(StockPosition, variant_id).committed == brute_force_committed(s, variant_id), (
                variant_id
            )
        s.rollback()

    @invariant()
    def availability_is_the_formula(self):
        s = self.session
        s.expire_all()
        positions = [s.get(StockPosition, v) for v in self.variants]
        snapshot = s.get(StockSnapshot, self.vendor_id)

        def source(pos):
            as_of = effective_as_of(pos.as_of, snapshot.as_of if snapshot else None)
            if as_of is None or self.now - as_of > dt.timedelta(hours=24):
                return 0
            return max(0, pos.quantity - pos.committed - 1)

        expected = {
            self.items["A"]: source(positions[0]),
            self.items["B"]: source(positions[0]) + source(positions[1]),
        }
        rows = read_availability(
            s, retailer_id=self.retailer_id, skus=list(expected), after_id=0, limit=10, now=self.now
        )
        assert {row.retailer_sku: row.available for row in rows} == expected
        graded = s.scalars(sa.select(Return).where(Return.vendor_id == self.vendor_id)).all()
        assert all(r.resellable + r.damaged <= r.received <= r.quantity for r in graded)
        s.rollback()


def test_random_histories_keep_committed_exact_and_availability_the_formula(app, session):
    OrderBooks.session = session
    run_state_machine_as_test(
        OrderBooks,
        settings=settings(
            max_examples=12,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
