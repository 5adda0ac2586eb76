"""Predictive availability through the services (issue 18): counts teach the depletion model, and
a retailer on the predictive model is offered less of a fast seller's aging count; nothing changes
for a retailer on the fixed model."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from network.availability.learning import DELAY_REFRESH
from network.availability.models import DepletionEstimate, VendorDepletion
from network.availability.services import read_availability
from network.availability.settings import availability_settings, update_availability_settings
from network.catalog import services as catalog
from network.catalog.services import SourceSpec
from network.db import transaction
from network.errors import InvalidInput
from network.feeds.parsing import FeedFormat
from network.feeds.services import FeedReceipt, receive_feed
from network.orders import services
from network.orders.placement import LineInput, place_order
from network.partners import services as partners
from tests.builders import unique

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
SHIP_TO = {"name": "A", "address1": "B", "city": "C", "postal_code": "1", "country": "US"}


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


class Network:
    """One vendor, a fast and a slow variant, two retailers selling both: one on each model."""

    def __init__(self, session) -> None:
        self.s = session
        with transaction(session):
            self.vendor = partners.create_organization(session, kind="vendor", name=unique("V"), now=T0).id
            self.fixed, self.predictive = (
                partners.create_organization(session, kind="retailer", name=unique("R"), now=T0).id
                for _ in range(2)
            )
            self.skus, self.variants, self.items = {}, {}, {}
            for retailer in (self.fixed, self.predictive):
                partners.connect(session, retailer_id=retailer, vendor_id=self.vendor, now=T0)
            for name in ("fast", "slow"):
                self.skus[name] = unique("VS")
                variant, _ = catalog.upsert_variant(
                    session,
                    vendor_id=self.vendor,
                    vendor_sku=self.skus[name],
                    title=name,
                    cost=Decimal(30),
                    msrp=Decimal(50),  # a $20 margin against a $100 cancellation: the 0.83 quantile
                    now=T0,
                )
                self.variants[name] = variant.id
                self.items[name] = unique("I")
                for retailer in (self.fixed, self.predictive):
                    catalog.put_item(
                        session,
                        retailer_id=retailer,
                        retailer_sku=self.items[name],
                        title=name,
                        sources=[SourceSpec(variant.id, 0)],
                        now=T0,
                    )

    def go_predictive(self, now: dt.datetime = T0, **settings) -> None:
        with transaction(self.s):
            update_availability_settings(
                self.s, retailer_id=self.predictive, model="predictive", now=now, **settings
            )

    def count(self, *, fast: int, slow: int, as_of: dt.datetime) -> None:
        rows = [{"sku": self.skus["fast"], "quantity": fast}, {"sku": self.skus["slow"], "quantity": slow}]
        receipt = FeedReceipt(
            vendor_id=self.vendor,
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

    def shown(self, retailer: int, name: str, now: dt.datetime) -> int:
        (item,) = read_availability(
            self.s, retailer_id=retailer, skus=[self.items[name]], after_id=0, limit=1, now=now
        )
        self.s.rollback()
        return item.available

    def source(self, retailer: int, name: str, now: dt.datetime):
        (item,) = read_availability(
            self.s, retailer_id=retailer, skus=[self.items[name]], after_id=0, limit=1, now=now
        )
        self.s.rollback()
        return item.sources[0]

    def estimates(self) -> dict[int, DepletionEstimate]:
        self.s.expire_all()
        rows = {row.variant_id: row for row in self.s.scalars(sa.select(DepletionEstimate))}
        self.s.rollback()
        return rows


@pytest.fixture
def net(session) -> Network:
    return Network(session)


def sell_a_day(net: Network, *, per_hour: int, start: int = 1000, slow: int = 5) -> int:
    """A day of hourly counts: the fast variant sells `per_hour` elsewhere every hour, the slow one nothing."""
    quantity = start
    for hour in range(25):
        net.count(fast=quantity, slow=slow, as_of=at(hour * 60))
        quantity -= per_hour
    return quantity + per_hour  # the last count


def test_a_fast_sellers_aging_count_is_trimmed_for_the_predictive_retailer_only(net):
    net.go_predictive()
    last = sell_a_day(net, per_hour=12)
    fresh, aged = at(24 * 60), at(24 * 60 + 120)
    assert net.shown(net.fixed, "fast", aged) == last  # the fixed model: the count, whatever its age
    trimmed_fresh = last - net.shown(net.predictive, "fast", fresh)
    trimmed_aged = last - net.shown(net.predictive, "fast", aged)
    # Twelve an hour: an hour's import delay takes about 12 on a fresh count, three hours about 36,
    # and the 0.83 quantile a little more than the mean.
    assert 12 <= trimmed_fresh <= 20
    assert 36 <= trimmed_aged <= 48
    source = net.source(net.predictive, "fast", aged)
    assert source.predicted_depletion.units == trimmed_aged
    assert source.predicted_depletion.rate_per_hour == pytest.approx(12, rel=0.1)
    assert source.predicted_depletion.horizon_minutes == pytest.approx(120 + 60)
    assert source.predicted_depletion.probability == pytest.approx(100 / 120)


def test_a_slow_item_keeps_its_full_figure(net):
    net.go_predictive()
    sell_a_day(net, per_hour=12, slow=3)
    assert net.shown(net.predictive, "slow", at(24 * 60 + 120)) == 3


def test_the_hubs_own_orders_are_not_outside_sales(net):
    net.go_predictive()
    quantity = 1000
    for hour in range(13):
        net.count(fast=quantity, slow=5, as_of=at(hour * 60))
        # The hub sells 10 an hour, acknowledged at once; the vendor sells nothing elsewhere.
        with transaction(net.s):
            order = place_order(
                net.s,
                retailer_id=net.fixed,
                reference=unique("O"),
                lines=[LineInput(net.items["fast"], 10)],
                ship_to=SHIP_TO,
                now=at(hour * 60 + 10),
            )
            po = order.purchase_orders[0].id
            services.acknowledge(net.s, vendor_id=net.vendor, po_id=po, lines=None, now=at(hour * 60 + 20))
        quantity -= 10
    net.count(fast=quantity, slow=5, as_of=at(13 * 60))
    assert net.estimates()[net.variants["fast"]].shape / net.estimates()[net.variants["fast"]].exposure < 0.01
    assert net.shown(net.predictive, "fast", at(13 * 60 + 30)) == quantity


def test_the_vendor_import_delay_is_measured_from_its_acknowledgements(net):
    net.go_predictive()
    net.count(fast=100, slow=5, as_of=at(0))
    for k in range(6):
        with transaction(net.s):
            order = place_order(
                net.s,
                retailer_id=net.fixed,
                reference=unique("O"),
                lines=[LineInput(net.items["fast"], 1)],
                ship_to=SHIP_TO,
                now=at(k),
            )
            services.acknowledge(
                net.s, vendor_id=net.vendor, po_id=order.purchase_orders[0].id, lines=None, now=at(k + 90)
            )
    net.count(fast=94, slow=5, as_of=at(DELAY_REFRESH / dt.timedelta(minutes=1) + 100))
    delay = net.s.get(VendorDepletion, net.vendor).import_delay_minutes
    assert delay == pytest.approx(90)


def test_on_the_fixed_model_nothing_is_learned_and_no_figure_moves(net):
    last = sell_a_day(net, per_hour=12)
    assert net.estimates() == {}
    assert net.shown(net.predictive, "fast", at(24 * 60 + 120)) == last
    assert net.source(net.predictive, "fast", at(24 * 60)).predicted_depletion is None


def test_switching_to_predictive_republishes_and_bad_settings_change_nothing(net):
    with pytest.raises(InvalidInput) as caught:
        net.go_predictive(margin_share=1.5, cancellation_cost=-1)
    assert set(caught.value.errors) == {"margin_share", "cancellation_cost"}
    net.s.rollback()
    assert availability_settings(net.s, retailer_id=net.predictive).model == "fixed"
    with pytest.raises(InvalidInput):
        update_availability_settings(net.s, retailer_id=net.predictive, model="psychic", now=T0)
    net.s.rollback()
    net.go_predictive(margin_share=0.2, cancellation_cost=50.0)
    settings = availability_settings(net.s, retailer_id=net.predictive)
    assert (settings.model, settings.cancellation_cost, settings.margin_share) == ("predictive", 50.0, 0.2)


def test_the_explanation_shows_the_term_and_its_inputs(net):
    from network.orders.explain import explain
    from retailer_api.schemas import AvailabilityExplanationSchema

    net.go_predictive()
    last = sell_a_day(net, per_hour=12)
    aged = at(24 * 60 + 120)
    body = AvailabilityExplanationSchema().dump(
        explain(net.s, retailer_id=net.predictive, retailer_sku=net.items["fast"], now=aged)
    )
    (source,) = body["sources"]
    term = source["predicted_depletion"]
    assert source["available"] == body["available"] == last - term["units"] > 0
    assert term["units"] > 0 and term["horizon_minutes"] == pytest.approx(180)
    assert term["rate_per_hour"] == pytest.approx(12, rel=0.1) and term["probability"] == pytest.approx(
        100 / 120
    )
    fixed = AvailabilityExplanationSchema().dump(
        explain(net.s, retailer_id=net.fixed, retailer_sku=net.items["fast"], now=aged)
    )
    assert fixed["sources"][0]["predicted_depletion"] is None and fixed["available"] == last
