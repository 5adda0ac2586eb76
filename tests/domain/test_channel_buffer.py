"""A throttled channel's automatic buffer (issue 18): on the predictive model a channel whose buffer
is not set is shown the hub's figure less what outside sales will probably take before the channel
can next be corrected; an explicit buffer overrides it; the fixed model is unchanged."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.availability import depletion, predictive
from network.availability.settings import update_availability_settings
from network.db import transaction
from network.delivery.claims import claim
from network.outbox.fanout import mark_pending
from network.outbox.rules import channel_figure
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from network.outbox.webhooks import create_endpoint
from network.partners.audit import Actor
from tests.domain.test_predictive_availability import Network, at, sell_a_day

SETTINGS = WebhookSettings(allow_http_hosts=frozenset({"127.0.0.1"}), allow_private=True)
BOX = SecretBox("channel-buffer-tests")
THROTTLE = 30 * 60  # a marketplace taking one push per half hour


@pytest.fixture
def net(session) -> Network:
    return Network(session)


def endpoint(net: Network, retailer: int, *, buffer: int | None = None, throttle: int = THROTTLE) -> int:
    with transaction(net.s):
        made, _ = create_endpoint(
            net.s,
            org_id=retailer,
            url="http://127.0.0.1:9/hook",
            events=["availability.changed"],
            min_interval_seconds=throttle,
            buffer=buffer,
            settings=SETTINGS,
            box=BOX,
            actor=Actor(),
            now=at(0),
        )
        return made.id


def pushed(net: Network, endpoint_id: int, now: dt.datetime) -> dict[str, int]:
    """The figures the endpoint's next coalesced push carries, both items owed, sent at `now`."""
    with transaction(net.s):
        mark_pending(
            net.s,
            {(endpoint_id, net.items[name]): 1 for name in ("fast", "slow")},
            now=now,
            retry_for=dt.timedelta(days=1),
        )
    with transaction(net.s):
        claimed = [o for o in claim(net.s, now=now, settings=SETTINGS, box=BOX, limit=10) if o.coalesced]
        (outgoing,) = [o for o in claimed if o.endpoint_id == endpoint_id]
    items = json.loads(outgoing.body)["data"]["items"]
    by_sku = {item["retailer_sku"]: item["available"] for item in items}
    return {name: by_sku[sku] for name, sku in net.items.items()}


def test_a_throttled_channel_trims_a_fast_seller_by_its_interval_and_leaves_a_slow_one_whole(net):
    net.go_predictive()
    sell_a_day(net, per_hour=12, slow=3)
    automatic, unthrottled = endpoint(net, net.predictive), endpoint(net, net.predictive, throttle=0)
    now = at(24 * 60 + 30)
    hub = {name: net.shown(net.predictive, name, now) for name in ("fast", "slow")}
    shown = pushed(net, automatic, now)
    # Twelve an hour over half an hour: about six more units, at the 0.83 quantile a few more.
    assert 6 <= hub["fast"] - shown["fast"] <= 11
    assert shown["slow"] == hub["slow"] == 3
    # The term, with its inputs, as explanations show it: the interval is the channel's throttle.
    (item,) = _read(net, "fast", now, THROTTLE / 60)
    term = item.sources[0].channel_depletion
    assert term.units == hub["fast"] - shown["fast"] == item.channel_units
    assert term.horizon_minutes == pytest.approx(30) and term.rate_per_hour == pytest.approx(12, rel=0.1)
    assert term.probability == pytest.approx(100 / 120)
    # A channel corrected at every change (no throttle) has nothing to wait for: the hub's figure.
    assert _read(net, "fast", now, 0)[0].channel_units == 0
    assert unthrottled  # its events go out one by one, untouched (claims._for_channel)


def test_an_explicit_buffer_overrides_the_automatic_one(net):
    net.go_predictive()
    sell_a_day(net, per_hour=12, slow=3)
    set_to_one = endpoint(net, net.predictive, buffer=1)
    set_to_zero = endpoint(net, net.predictive, buffer=0)
    now = at(24 * 60 + 30)
    hub = {name: net.shown(net.predictive, name, now) for name in ("fast", "slow")}
    assert pushed(net, set_to_one, now) == {"fast": hub["fast"] - 1, "slow": 2}
    assert pushed(net, set_to_zero, now) == hub


def test_a_fixed_model_retailers_channels_are_unchanged(net):
    last = sell_a_day(net, per_hour=12, slow=3)
    automatic, buffered = endpoint(net, net.fixed), endpoint(net, net.fixed, buffer=2)
    now = at(24 * 60 + 30)
    assert pushed(net, automatic, now) == {"fast": last, "slow": 3}
    assert pushed(net, buffered, now) == {"fast": last - 2, "slow": 1}


def _read(net: Network, name: str, now: dt.datetime, minutes: float):
    from network.availability.services import read_availability

    found = read_availability(
        net.s,
        retailer_id=net.predictive,
        skus=[net.items[name]],
        after_id=0,
        limit=1,
        now=now,
        channel_minutes=minutes,
    )
    net.s.rollback()
    return found


# --- the arithmetic ---------------------------------------------------------------------------

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
intervals = st.floats(min_value=0.0, max_value=24 * 60.0)


def _inputs(shape: float, exposure: float, delay: float | None, price: float | None) -> predictive.Inputs:
    inputs = predictive.Inputs()
    inputs.estimates[1] = depletion.Estimate(shape, exposure, T0)
    inputs.vendors[7] = (0.0, delay)
    inputs.prices[1] = (price, None)
    inputs.retailers[3] = (100.0, None)
    return inputs


def _channel(inputs, free: int, age: float, interval: float) -> tuple[int, int]:
    """(the hub's figure, the channel's automatic buffer) of one source."""
    now = T0 + dt.timedelta(minutes=age)
    common = {"retailer_id": 3, "variant_id": 1, "vendor_id": 7, "free": free, "as_of": T0, "now": now}
    hub = max(0, free - predictive.predicted_depletion(inputs, **common).units)
    return hub, predictive.channel_depletion(inputs, **common, interval_minutes=interval).units


@settings(deadline=None)  # arithmetic only, but the machine is shared
@given(
    shape=st.floats(min_value=0.01, max_value=500.0),
    exposure=st.floats(min_value=1.0, max_value=20_000.0),
    delay=st.none() | st.floats(min_value=0.0, max_value=600.0),
    price=st.none() | st.floats(min_value=1.0, max_value=1000.0),
    free=st.integers(-5, 300),
    age=st.floats(min_value=0.0, max_value=3 * 24 * 60.0),
    a=intervals,
    b=intervals,
    buffer=st.none() | st.integers(0, 50),
    cap=st.none() | st.integers(0, 400),
)
def test_a_channel_figure_is_between_nothing_and_the_hubs_and_shrinks_with_its_interval(
    shape, exposure, delay, price, free, age, a, b, buffer, cap
):
    inputs = _inputs(shape, exposure, delay, price)
    short, long = sorted((a, b))
    hub, taken_short = _channel(inputs, free, age, short)
    _, taken_long = _channel(inputs, free, age, long)
    assert 0 <= taken_short <= taken_long <= hub  # never negative, monotone in the interval
    shown_short = channel_figure(hub, buffer=buffer, max_quantity=cap, automatic=taken_short)
    shown_long = channel_figure(hub, buffer=buffer, max_quantity=cap, automatic=taken_long)
    assert 0 <= shown_long <= shown_short <= hub
    if buffer is not None:  # an override: the interval does not matter
        assert shown_short == shown_long == max(0, min(hub - buffer, hub if cap is None else cap))


def test_no_interval_or_nothing_learned_takes_nothing():
    inputs = _inputs(50.0, 100.0, 60.0, 50.0)
    assert _channel(inputs, 100, 30, 0.0)[1] == 0
    assert _channel(predictive.Inputs(), 100, 30, 60.0)[1] == 0


# --- republishing as counts age -----------------------------------------------------------------


def _changes(net: Network) -> list[tuple[int, str, int]]:
    import sqlalchemy as sa

    from network.outbox.models import Event

    rows = net.s.execute(
        sa.select(Event.org_id, Event.key, Event.data)
        .where(Event.type == "availability.changed")
        .order_by(Event.id)
    ).all()
    net.s.rollback()
    return [(org, key, data["available"]) for org, key, data in rows]


def test_the_aging_job_republishes_a_fast_seller_as_its_count_ages_and_nothing_else(net):
    from network.jobs import RepublishAging

    republish_aging = RepublishAging()
    net.go_predictive()
    last = sell_a_day(net, per_hour=12, slow=3)
    before = len(_changes(net))
    fresh = net.shown(net.predictive, "fast", at(24 * 60))
    published = []
    for minutes in (5, 60, 120, 180):
        republish_aging(now=at(24 * 60 + minutes))
        new = _changes(net)[before:]
        before += len(new)
        # Only the predictive retailer's fast seller moves, to what it is worth at that age.
        assert {(org, key) for org, key, _ in new} <= {(net.predictive, net.items["fast"])}
        published += [available for _, _, available in new]
        if new:
            assert new[-1][2] == net.shown(net.predictive, "fast", at(24 * 60 + minutes))
    assert len(published) >= 3 and published == sorted(published, reverse=True)
    assert published[-1] < fresh < last
    # Run again at the same moment: nothing moved since, nothing is published.
    republish_aging(now=at(24 * 60 + 180))
    assert len(_changes(net)) == before
    # Each move is in the retailer's ledger with the term and its inputs; not in the other's.
    from network.availability.history import item_ledger

    lines = [
        line
        for line in item_ledger(
            net.s, retailer_id=net.predictive, retailer_sku=net.items["fast"], after_id=0, limit=1000
        )
        if line.cause == "prediction"
    ]
    assert [line.after["item_available"] for line in lines] == published
    term = lines[-1].reference["predicted_depletion"]
    assert term["units"] == last - published[-1] and term["horizon_minutes"] == pytest.approx(180 + 60)
    assert term["rate_per_hour"] == pytest.approx(12, rel=0.1) and term["probability"] == pytest.approx(
        100 / 120, abs=1e-4
    )
    theirs = item_ledger(net.s, retailer_id=net.fixed, retailer_sku=net.items["fast"], after_id=0, limit=1000)
    assert not [line for line in theirs if line.cause == "prediction"]


def test_the_aging_job_reads_nothing_for_slow_items_or_fixed_retailers(net):
    from network.availability.aging import aging_items
    from network.catalog.models import RetailerItem

    net.go_predictive()
    sell_a_day(net, per_hour=12, slow=3)
    now = at(24 * 60 + 60)
    ids = aging_items(net.s, now=now, since=now - dt.timedelta(minutes=30))
    assert [net.s.get(RetailerItem, item_id).retailer_sku for item_id in ids] == [net.items["fast"]]
    assert net.s.get(RetailerItem, ids[0]).retailer_id == net.predictive
    net.s.rollback()
    with transaction(net.s):  # back on the fixed model: nobody's figure ages
        update_availability_settings(net.s, retailer_id=net.predictive, model="fixed", now=at(24 * 60))
    assert aging_items(net.s, now=now, since=now - dt.timedelta(minutes=30)) == []
    assert aging_items(net.s, now=now) == []


# --- explained --------------------------------------------------------------------------------


def test_the_explanation_shows_each_channels_figure_and_its_automatic_term_with_inputs(net):
    from network.console_views.availability import breakdown
    from network.delivery.channels import explain_channels
    from network.orders.explain import explain
    from retailer_api.schemas import AvailabilityExplanationSchema

    net.go_predictive()
    sell_a_day(net, per_hour=12, slow=3)
    automatic, fixed_one = endpoint(net, net.predictive), endpoint(net, net.predictive, buffer=1)
    now = at(24 * 60 + 30)
    sku = net.items["fast"]
    explanation = explain(net.s, retailer_id=net.predictive, retailer_sku=sku, now=now)
    channels = explain_channels(net.s, retailer_id=net.predictive, retailer_sku=sku, now=now)
    body = AvailabilityExplanationSchema().dump({**vars(explanation), "channels": channels})
    by_id = {c["id"]: c for c in body["channels"]}
    auto, one = by_id[automatic], by_id[fixed_one]
    (term,) = auto["predicted_depletion"]
    assert auto["buffer"] is None and auto["interval_minutes"] == 30
    assert auto["held_back"] == term["units"] > 0
    assert auto["available"] == body["available"] - term["units"] == pushed(net, automatic, now)["fast"]
    assert term["horizon_minutes"] == 30 and term["rate_per_hour"] == pytest.approx(12, rel=0.1)
    assert term["probability"] == pytest.approx(100 / 120, abs=1e-4)
    assert term["vendor_variant_id"] == net.variants["fast"]
    assert (one["buffer"], one["held_back"], one["available"], one["predicted_depletion"]) == (
        1,
        1,
        body["available"] - 1,
        [],
    )
    # The console says it in words, on the source's row.
    (row,) = breakdown(net.s, retailer_id=net.predictive, retailer_sku=sku, now=now).rows
    said = " ".join(row.reasons)
    assert f"{term['units']} fewer shown" in said and "30 min at 12" in said
    assert "predicted outside sales" in said


def test_the_aging_job_owes_a_throttled_channel_the_figure_its_own_term_moved(net):
    """The hub's figure can stay while an automatic channel's term steps (the quantile over the
    count's age plus the throttle moves before the one over its age alone): the job owes the item to
    the endpoint, and the push it schedules carries the corrected figure."""
    import sqlalchemy as sa

    from network.jobs import RepublishAging
    from network.outbox.models import PendingItem

    republish_aging = RepublishAging()
    net.go_predictive()
    sell_a_day(net, per_hour=12, slow=3)
    automatic = endpoint(net, net.predictive)
    buffered = endpoint(net, net.predictive, buffer=2)  # its figure does not age: never owed

    def figures(now: dt.datetime) -> tuple[int, int]:
        (item,) = _read(net, "fast", now, THROTTLE / 60)
        return item.available, channel_figure(
            item.available, buffer=None, max_quantity=None, automatic=item.channel_units
        )

    def owed() -> set[tuple[int, str]]:
        rows = {
            tuple(row) for row in net.s.execute(sa.select(PendingItem.endpoint_id, PendingItem.retailer_sku))
        }
        net.s.rollback()
        return rows

    def forget() -> None:
        with transaction(net.s):
            net.s.execute(sa.delete(PendingItem))

    republish_aging(now=at(24 * 60))
    # The first run owes every fast seller to the automatic channel (its figure may be old).
    assert owed() == {(automatic, net.items["fast"])}
    forget()
    hub, channel = figures(at(24 * 60))
    for minutes in range(24 * 60 + 1, 24 * 60 + 240):
        now = at(minutes)
        republish_aging(now=now)
        now_hub, now_channel = figures(now)
        found = owed()
        assert found <= {(automatic, net.items["fast"])}
        if now_hub == hub and now_channel != channel:
            assert found == {(automatic, net.items["fast"])}
            break
        forget()
        hub, channel = now_hub, now_channel
    else:
        pytest.fail("the channel's term never stepped alone")
    assert buffered
    # The owed item goes out in the endpoint's next push, at the figure the channel is owed now.
    with transaction(net.s):
        (outgoing,) = [
            o
            for o in claim(net.s, now=now, settings=SETTINGS, box=BOX, limit=10)
            if o.coalesced and o.endpoint_id == automatic
        ]
    (item,) = json.loads(outgoing.body)["data"]["items"]
    assert item == {**item, "retailer_sku": net.items["fast"], "available": now_channel}


def test_the_aging_job_owes_an_automatic_connector_the_figure_its_own_term_moved(net):
    """The same for a storefront connector whose buffer is automatic (its interval: one sync): the
    job marks the item's listing owed, so the next sync sets the store's figure again."""
    import sqlalchemy as sa

    from network.connectors.models import ConnectorListing
    from network.connectors.services import SYNC_SECONDS, create_connector
    from network.feeds.credentials import Credentials
    from network.jobs import RepublishAging
    from tests.connectors.helpers import SHOPIFY_CREDENTIALS

    net.go_predictive()
    sell_a_day(net, per_hour=12, slow=3)
    with transaction(net.s):
        connector = create_connector(
            net.s,
            retailer_id=net.predictive,
            platform="shopify",
            shop_url="https://aging.myshopify.com",
            credentials=SHOPIFY_CREDENTIALS,
            location_id="1",
            buffer=None,
            max_quantity=None,
            sealer=Credentials("channel-buffer-tests"),
            allow_http_hosts=frozenset(),
            actor=Actor(),
            now=at(0),
        ).id

    def figures(now: dt.datetime) -> tuple[int, int]:
        (item,) = _read(net, "fast", now, SYNC_SECONDS / 60)
        return item.available, item.available - item.channel_units

    # A moment the connector's term steps while the hub's figure stays (a few seconds' window).
    step = dt.timedelta(seconds=3)
    moment = next(
        t
        for t in (at(24 * 60) + step * k for k in range(1, 20 * 60))
        if figures(t)[0] == figures(t - step)[0] and figures(t)[1] != figures(t - step)[1]
    )

    def owed() -> list[str]:
        found = list(
            net.s.scalars(
                sa.select(ConnectorListing.retailer_sku).where(
                    ConnectorListing.connector_id == connector, ConnectorListing.pending
                )
            )
        )
        net.s.rollback()
        return found

    republish_aging = RepublishAging()
    republish_aging(now=moment - step)
    assert owed() == [net.items["fast"]]  # the first run owes every fast seller
    with transaction(net.s):
        net.s.execute(sa.update(ConnectorListing).values(pending=False))
    republish_aging(now=moment)
    assert owed() == [net.items["fast"]]
