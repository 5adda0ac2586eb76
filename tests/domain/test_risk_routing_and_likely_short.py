"""Routing by risk and flags by forecast (issue 18), through the services on both databases.

Vendor F's variant sells twelve an hour on its other channels (learned from a day of hourly counts);
vendor S's variant sells nothing elsewhere. A retailer on the predictive model is routed to the
source likelier to ship, and its open lines on an aging fast seller's count are flagged
`likely_short` before the vendor refuses them; a retailer on the fixed model keeps today's routing.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from network.availability.settings import update_availability_settings
from network.catalog import services as catalog
from network.catalog.services import SourceSpec
from network.db import transaction
from network.feeds.parsing import FeedFormat
from network.feeds.services import FeedReceipt, receive_feed
from network.flags import evaluation, likely_short
from network.flags import services as flags
from network.flags.models import LIKELY_SHORT, VENDOR_REJECTED, Flag
from network.orders import fill, services
from network.orders.models import PurchaseOrder, PurchaseOrderLine
from network.orders.placement import LineInput, place_order
from network.outbox.models import Event
from network.partners import services as partners
from network.partners.models import Organization
from tests.builders import unique

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
SHIP_TO = {"name": "A", "address1": "B", "city": "C", "postal_code": "1", "country": "US"}
DAY = 24 * 60


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


class Network:
    """Two vendors (F: a fast seller and a slow one; S: a variant that never sells elsewhere) and
    two retailers, one on each model. Items: `both` (F's fast variant or S's), `fast` (F's fast
    variant only), `slow` (F's slow variant only)."""

    def __init__(self, session) -> None:
        self.s = session
        with transaction(session):
            self.f, self.v2 = (
                partners.create_organization(session, kind="vendor", name=unique("V"), now=T0).id
                for _ in range(2)
            )
            self.fixed, self.predictive = (
                partners.create_organization(session, kind="retailer", name=unique("R"), now=T0).id
                for _ in range(2)
            )
            for retailer in (self.fixed, self.predictive):
                for vendor in (self.f, self.v2):
                    partners.connect(session, retailer_id=retailer, vendor_id=vendor, now=T0)
            self.vsku = {name: unique("VS") for name in ("fast", "slow", "other")}
            self.variant = {}
            for name, vendor in (("fast", self.f), ("slow", self.f), ("other", self.v2)):
                variant, _ = catalog.upsert_variant(
                    session,
                    vendor_id=vendor,
                    vendor_sku=self.vsku[name],
                    title=name,
                    cost=Decimal(30),
                    msrp=Decimal(50),
                    now=T0,
                )
                self.variant[name] = variant.id
            self.item = {name: unique("I") for name in ("both", "fast", "slow")}
            sources = {
                "both": [SourceSpec(self.variant["fast"], 0), SourceSpec(self.variant["other"], 0)],
                "fast": [SourceSpec(self.variant["fast"], 0)],
                "slow": [SourceSpec(self.variant["slow"], 0)],
            }
            for retailer in (self.fixed, self.predictive):
                for name, specs in sources.items():
                    catalog.put_item(
                        session,
                        retailer_id=retailer,
                        retailer_sku=self.item[name],
                        title=name,
                        sources=specs,
                        now=T0,
                    )
            update_availability_settings(session, retailer_id=self.predictive, model="predictive", now=T0)

    def feed(self, vendor: int, counts: dict[str, int], as_of: dt.datetime) -> None:
        rows = [{"sku": self.vsku[name], "quantity": n} for name, n in counts.items()]
        receipt = FeedReceipt(
            vendor_id=vendor,
            transport="push",
            mode="full",
            basis="available",
            data=json.dumps(rows).encode(),
            fmt=FeedFormat(kind="json"),
            as_of=as_of,
            records=rows,
        )
        with transaction(self.s):
            receive_feed(self.s, receipt, now=as_of)

    def learn_a_day(self, *, fast_last: int, other: int, slow: int = 5) -> None:
        """A day of hourly counts: F's fast variant sells twelve an hour down to `fast_last`, the
        rest nothing; both vendors count at T0 + 24 h last."""
        for hour in range(25):
            self.feed(self.f, {"fast": fast_last + 12 * (24 - hour), "slow": slow}, at(hour * 60))
            self.feed(self.v2, {"other": other}, at(hour * 60))

    def order(self, retailer: int, item: str, quantity: int, now: dt.datetime):
        with transaction(self.s):
            order = place_order(
                self.s,
                retailer_id=retailer,
                reference=unique("O"),
                lines=[LineInput(self.item[item], quantity)],
                ship_to=SHIP_TO,
                now=now,
            )
            (po,) = order.purchase_orders
            (line,) = po.lines
            return po.id, line.id, line.variant_id

    def evaluate(self, now: dt.datetime) -> None:
        with transaction(self.s):
            evaluation.evaluate(self.s, now=now)

    def flags_of(self, line_id: int, kind: str = LIKELY_SHORT) -> list[Flag]:
        self.s.expire_all()
        found = list(
            self.s.scalars(
                sa.select(Flag).where(Flag.po_line_id == line_id, Flag.kind == kind).order_by(Flag.id)
            )
        )
        self.s.rollback()
        return found


@pytest.fixture
def net(session) -> Network:
    return Network(session)


def test_a_predictive_retailer_is_routed_to_the_likelier_source_though_another_has_more_units(net):
    # F counted 40 three hours ago and sells twelve an hour: by its import (an hour on) about 48
    # are gone elsewhere. S counted 10 that never sell elsewhere.
    net.learn_a_day(fast_last=40, other=10)
    now = at(DAY + 180)
    *_, fixed_variant = net.order(net.fixed, "both", 2, now)
    *_, predictive_variant = net.order(net.predictive, "both", 2, now)
    assert fixed_variant == net.variant["fast"]  # today's order: the most units
    assert predictive_variant == net.variant["other"]


def test_a_fixed_retailer_keeps_the_most_units_and_ties_keep_todays_order(net):
    # Both counts fresh and deep: both sources all but surely ship; the tie goes to the most units.
    net.learn_a_day(fast_last=400, other=50)
    now = at(DAY + 5)
    assert net.order(net.predictive, "both", 1, now)[2] == net.variant["fast"]
    assert net.order(net.fixed, "both", 1, now)[2] == net.variant["fast"]


def test_likely_short_is_raised_on_a_fast_sellers_aged_count_with_its_probability(net):
    net.learn_a_day(fast_last=30, other=10, slow=30)
    placed = at(DAY + 10)  # a fresh count: 30 left, an hour of import takes about 12
    _, fast_line, _ = net.order(net.predictive, "fast", 3, placed)
    _, slow_line, _ = net.order(net.predictive, "slow", 3, placed)
    assert net.flags_of(fast_line) == []
    net.evaluate(at(DAY + 120))  # two hours on, no new count, the vendor has not imported it
    assert net.flags_of(fast_line) == []  # 27 of headroom against about 24 expected: not yet
    net.evaluate(at(DAY + 180))
    (flag,) = net.flags_of(fast_line)
    assert flag.detail["probability"] >= likely_short.RAISE_AT
    assert flag.detail["headroom"] == 27
    assert flag.detail["rate_per_hour"] == pytest.approx(12, rel=0.15)
    assert flag.detail["horizon_minutes"] == pytest.approx(180)
    assert net.flags_of(slow_line) == []  # the slow seller's count holds however old
    with transaction(net.s):  # the retailer hears of it as of any flag
        events = net.s.scalars(sa.select(Event).where(Event.org_id == net.predictive)).all()
        assert any(e.type == "order.at_risk" and e.data.get("kind") == LIKELY_SHORT for e in events)
        listed = flags.list_flags(net.s, retailer_id=net.predictive, status="open", after_id=0, limit=50)
        assert [f.kind for f in listed if f.po_line_id == fast_line] == [LIKELY_SHORT]


def test_likely_short_clears_when_the_vendor_acknowledges(net):
    net.learn_a_day(fast_last=30, other=10)
    po, line, _ = net.order(net.predictive, "fast", 3, at(DAY + 10))
    net.evaluate(at(DAY + 200))
    assert net.flags_of(line)[0].resolved_at is None
    with transaction(net.s):
        services.acknowledge(net.s, vendor_id=net.f, po_id=po, lines=None, now=at(DAY + 210))
    (flag,) = net.flags_of(line)
    assert flag.resolution == "acknowledged"


def test_likely_short_clears_when_a_fresh_count_shows_the_units(net):
    net.learn_a_day(fast_last=30, other=10)
    _, line, _ = net.order(net.predictive, "fast", 3, at(DAY + 10))
    net.evaluate(at(DAY + 200))
    net.feed(net.f, {"fast": 400, "slow": 5}, at(DAY + 230))  # a restock: plenty again
    (flag,) = net.flags_of(line)
    assert flag.resolution == likely_short.LESS_LIKELY


def test_a_later_refusal_counts_as_flagged_first(net):
    net.learn_a_day(fast_last=30, other=10)
    po, line, _ = net.order(net.predictive, "fast", 3, at(DAY + 10))
    net.evaluate(at(DAY + 200))
    with transaction(net.s):
        services.reject(net.s, vendor_id=net.f, po_id=po, lines=None, reason="sold out", now=at(DAY + 260))
    (refusal,) = net.flags_of(line, VENDOR_REJECTED)
    assert refusal.lead_time_seconds == 60 * 60  # from the likely_short flag, raised an hour before
    with transaction(net.s):
        stats = flags.stats(net.s, retailer_id=net.predictive)
    assert (stats.cancellations, stats.flagged_first) == (1, 1)


def _auto_reroute(net: Network) -> None:
    with transaction(net.s):
        net.s.get(Organization, net.predictive).auto_reroute = True


def test_auto_reroute_moves_a_likely_short_line_to_a_source_that_very_probably_has_the_units(net):
    net.learn_a_day(fast_last=40, other=10)
    _auto_reroute(net)
    # Placed on F while its count was fresh and deep: both sources all but sure, F has more units.
    _, line, variant = net.order(net.predictive, "both", 3, at(DAY + 10))
    assert variant == net.variant["fast"]
    net.evaluate(at(DAY + 200))
    (flag,) = net.flags_of(line)
    assert flag.resolution == "rerouted"
    with transaction(net.s):
        moved = net.s.scalars(
            sa.select(PurchaseOrderLine).where(
                PurchaseOrderLine.order_line_id == net.s.get(PurchaseOrderLine, line).order_line_id
            )
        ).all()
        assert {(m.variant_id, m.status) for m in moved} == {
            (net.variant["fast"], "cancelled"),
            (net.variant["other"], "open"),
        }


def test_auto_reroute_never_moves_it_to_a_source_not_very_probably_there(net):
    # S's other source sells too (six an hour) and its count is as old: likelier than F's, not sure.
    for hour in range(25):
        net.feed(net.f, {"fast": 40 + 12 * (24 - hour), "slow": 5}, at(hour * 60))
        net.feed(net.v2, {"other": 14 + 6 * (24 - hour)}, at(hour * 60))
    _auto_reroute(net)
    _, line, variant = net.order(net.predictive, "both", 3, at(DAY + 10))
    assert variant == net.variant["fast"]
    net.evaluate(at(DAY + 200))
    (flag,) = net.flags_of(line)
    assert flag.resolved_at is None  # stays for the retailer: no source very probably has them


def test_the_fill_rate_counts_the_vendors_refusals_not_the_retailers_cancellations(net):
    net.feed(net.f, {"fast": 100, "slow": 5}, T0)
    net.feed(net.v2, {"other": 100}, T0)
    refused_po, *_ = net.order(net.fixed, "fast", 10, at(1))
    cancelled_po, *_ = net.order(net.fixed, "fast", 10, at(2))
    with transaction(net.s):
        services.reject(net.s, vendor_id=net.f, po_id=refused_po, lines=None, reason="none left", now=at(3))
        order_id = net.s.get(PurchaseOrder, cancelled_po).order_id
        services.cancel_by_retailer(net.s, retailer_id=net.fixed, order_id=order_id, lines=None, now=at(4))
    with transaction(net.s):
        rates = fill.recent_fill_rates(net.s, [net.f, net.v2])
    # Ten units refused by F against the prior's twenty shipped; the retailer's ten say nothing of F.
    assert rates == {net.f: pytest.approx(20 / 30), net.v2: 1.0}
