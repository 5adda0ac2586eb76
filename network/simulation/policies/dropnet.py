"""Dropnet as built: the world driven through the hub's real services on a real database.

Nothing of the hub is re-implemented here. Every vendor export goes through
`network.feeds.services.receive_feed` (guard, in-flight rule, staleness, publishing); every
customer order through `network.orders.placement.place_order` (routing, atomic reservation);
vendors ship and refuse through the purchase-order services, returns go through open, receive
and grade; the stale sweep is the worker's (`items_turning_stale` + `publish_changes`).
Channels show what the hub published, following the webhook rules of network/outbox/rules.py:
the own site and marketplace B take every `availability.changed` at once, marketplace A takes
one coalesced push per `marketplace_a_interval_minutes` carrying the latest figure of each
changed item, less its buffer. Each simulated request is one transaction, as each API call is.

On the predictive model (`dropnet_predictive`) marketplace A's buffer is automatic, as a throttled
endpoint's whose buffer is not set (network/delivery/claims.py): each push reads the item's figure
when it goes out, less what outside sales will probably take over the push interval
(`channels.marketplace_a_buffer` stays the fixed policy's override); and the worker's aging job
(network/availability/aging.py) republishes fast sellers as their counts age, every
`AGING_SECONDS` as in production. So that a push reads the hub as it was when the push was due,
the channels are brought up to time before each change the policy makes to the hub.

What a refusal means depends on the channel: the own site checks out against the hub, so a
refusal is a lost sale at checkout; a marketplace has already taken the customer's money, so
the retailer must cancel it (a channel cancellation).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from network.availability import aging
from network.availability.models import PREDICTIVE
from network.availability.services import items_turning_stale, publish_changes, read_availability
from network.availability.settings import update_availability_settings
from network.db import transaction
from network.errors import OutOfStock
from network.feeds import models as feed_models
from network.feeds.health import mark_stale_sources
from network.feeds.services import FeedReceipt, receive_feed
from network.flags import evaluation as flag_evaluation
from network.flags.hooks import OUT_OF_STOCK, Refusal
from network.flags.models import REFUSALS, Flag
from network.orders import returns as order_returns
from network.orders import services as po_services
from network.orders.models import Order, PurchaseOrderLine
from network.orders.placement import LineInput, place_order
from network.outbox.events import AvailabilityChanged, OrderLineRerouted
from network.outbox.models import Event
from network.outbox.rules import channel_figure, channel_interval_minutes, next_push_at
from network.simulation.config import DELTA, MARKETPLACE_A, OWN_SITE, SimConfig
from network.simulation.engine import Allocation, Decision, Engine, Kind, Line, OrderRecord, Policy, Report
from network.simulation.policies.hub_database import HubDatabase, seed_network
from network.simulation.world import CustomerOrder

NAME = "dropnet"
PREDICTIVE_NAME = "dropnet_predictive"
SHIP_TO = {
    "name": "Simulated customer",
    "address1": "1 Test Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
HEADER = "sku,quantity,pending_inspection,damaged"
SWEEP = "sweep"
EVALUATE = "evaluate"
AGING = "aging"


# The outbox reads after each change, built once (building them cost as much as running them).
_AVAILABILITY_AFTER = (
    sa.select(Event.id, Event.org_id, Event.key, Event.data, Event.created_at)
    .where(Event.id > sa.bindparam("cursor"), Event.type == AvailabilityChanged.wire_name)
    .order_by(Event.id)
)
_REROUTES_AFTER = (
    sa.select(Event.id, Event.data)
    .where(Event.id > sa.bindparam("cursor"), Event.type == OrderLineRerouted.wire_name)
    .order_by(Event.id)
)
_LAST_EVENT = sa.select(sa.func.max(Event.id))


class DropnetPolicy(Policy):
    name = NAME

    def __init__(
        self, config: SimConfig, *, database_url: str | None = None, predictive: bool = False
    ) -> None:
        self.config = config
        # The retailers on the predictive availability model (issue 18) instead of the fixed one.
        self.predictive = predictive
        self.name = PREDICTIVE_NAME if predictive else NAME
        self.database_url = database_url
        self.db: HubDatabase | None = None
        self.counts: Counter[str] = Counter()

    # --- set-up --------------------------------------------------------------------------------

    def attach(self, engine: Engine) -> None:
        super().attach(engine)
        world = engine.world
        self.start = self.config.start
        self.db = HubDatabase(self.database_url)
        self.session = self.db.session
        self.ids = seed_network(
            self.session, world, now=self.start, auto_reroute=self.config.hub.auto_reroute
        )
        if self.predictive:
            with transaction(self.session):
                for retailer_id in self.ids.retailers.values():
                    update_availability_settings(
                        self.session,
                        retailer_id=retailer_id,
                        model=PREDICTIVE,
                        cancellation_cost=self.config.money.cost_per_cancellation,
                        now=self.start,
                    )
        self.codes = {sku.id: sku.code for sku in world.live_skus()}
        self.published: dict[tuple[int, int], int] = {}  # what the own site and marketplace B show
        self.shown_a: dict[tuple[int, int], int] = {}  # what marketplace A shows
        self.pending_a: dict[int, set[tuple[int, int]]] = defaultdict(set)
        self.last_push_a: dict[int, dt.datetime | None] = defaultdict(lambda: None)
        self.push_due: dict[int, float] = {}  # retailer -> when marketplace A's next push goes out
        self.cursor = 0
        # The stale sweep runs when a count may have just crossed its connection's limit.
        self.counted_at: dict[int, list[float]] = defaultdict(list)  # vendor -> as_of of live counts
        self.last_sweep = 0.0
        self.last_aging: dt.datetime | None = None  # the aging job's last run
        timers = [
            (SWEEP, self.config.hub.stale_sweep_minutes),
            (EVALUATE, self.config.hub.flag_evaluation_minutes),
        ]
        if self.predictive:
            timers.append((AGING, aging.AGING_SECONDS / 60))
        for job, every in timers:
            for k in range(1, int(self.config.minutes // every) + 1):
                engine.schedule(k * every, Kind.TIMER, job)
        self.lines: dict[int, Line] = {}  # purchase-order line id -> the world's line
        self.reroute_cursor = 0
        self.refusal = Refusal(
            code=OUT_OF_STOCK, hold_for=dt.timedelta(hours=self.config.hub.oversell_hold_hours)
        )

    def _at(self, minutes: float) -> dt.datetime:
        return self.start + dt.timedelta(minutes=minutes)

    def _minutes(self, moment: dt.datetime) -> float:
        return (moment - self.start).total_seconds() / 60

    # --- vendors' exports ----------------------------------------------------------------------

    def _before_change(self, t: float) -> None:
        """Predictive: send marketplace A's pushes due by now while the hub is as it was then."""
        if self.predictive:
            self._catch_up(t)

    def on_export(self, t: float, report: Report) -> None:
        self._before_change(t)
        spec = self.config.vendors[report.vendor]
        lines = [HEADER]
        codes = self.codes
        lines += [
            f"{codes[sku]},{quantity},{pending},{damaged}" for sku, quantity, pending, damaged in report.rows
        ]
        receipt = FeedReceipt(
            vendor_id=self.ids.vendors[report.vendor],
            transport="push" if spec.mode == DELTA else "pull",
            mode="full" if report.full else "delta",
            basis="available",
            data="\n".join(lines).encode(),
            as_of=self._at(report.at),
        )
        with transaction(self.session):
            run = receive_feed(self.session, receipt, now=self._at(t))
            status = run.status
        self.counts[f"feed_runs_{status}"] += 1
        if status in feed_models.GOOD_STATUSES:
            # Counts a later full count supersedes can no longer turn stale.
            moments = self.counted_at[report.vendor]
            if report.full:
                moments.clear()
            bisect.insort(moments, report.at)
        self._follow_reroutes(t)  # a count that shows a shortfall may have moved lines

    # --- customers -----------------------------------------------------------------------------

    def on_order(self, t: float, order: CustomerOrder) -> Decision:
        self._catch_up(t)
        item = (order.retailer, order.product)
        shown = self.shown_a.get(item, 0) if order.channel == MARKETPLACE_A else self.published.get(item, 0)
        if shown < order.quantity:
            return Decision(reason=self._why_low(t, order), shown=shown)
        retailer_id = self.ids.retailers[order.retailer]
        code = self.engine.world.products[order.product].code
        try:
            with transaction(self.session):
                placed = place_order(
                    self.session,
                    retailer_id=retailer_id,
                    reference=order.ref,
                    lines=[LineInput(code, order.quantity)],
                    ship_to=SHIP_TO,
                    now=self._at(t),
                )
                allocations = tuple(
                    Allocation(
                        self.ids.skus_of_variant[line.variant_id],
                        line.ordered,
                        (po.vendor_id, po.id, line.id),
                    )
                    for po in placed.purchase_orders
                    for line in po.lines
                )
                handle = (placed.id, placed.lines[0].id)
        except OutOfStock:
            self.counts["hub_refusals"] += 1
            # What the hub would still sell of the item, read the way the retailer reads it.
            (now_available,) = read_availability(
                self.session, retailer_id=retailer_id, skus=[code], after_id=0, limit=1, now=self._at(t)
            )
            self.session.rollback()  # end the read
            return Decision(
                channel_cancelled=order.channel != OWN_SITE,
                reason="hub_refused",
                shown=now_available.available,
            )
        return Decision(allocations, handle)

    def _why_low(self, t: float, order: CustomerOrder) -> str:
        """Attribute a lost sale: a stale source; marketplace A's buffer or lag; the vendor's last
        export behind its shelf (a restock or a graded return it has not reported yet); the
        predictive rule's trim (predictive retailers only); or the hub below the vendor's own
        count (a hold after a refusal, units still in flight)."""
        world, engine = self.engine.world, self.engine
        sources = world.products[order.product].sources
        for sku in sources:
            vendor = world.skus[sku].vendor
            moments = self.counted_at.get(vendor)
            if not moments or t - moments[-1] > self.config.vendors[vendor].stale_after_minutes:
                return "stale_feed"
        wanted = min(order.quantity, engine.true_free(order.product))  # what a sale needed shown
        if (
            order.channel == MARKETPLACE_A
            and self.published.get((order.retailer, order.product), 0) >= wanted
        ):
            return "marketplace_a_buffer_or_lag"
        if any(engine.on_hand[sku] > engine.last_sent.get(sku, (0, 0, 0))[0] for sku in sources):
            return "vendor_count_behind"
        if self.predictive and self._trimmed_enough(t, order, wanted):
            return "predictive_trim"
        return "hub_below_count"

    def _trimmed_enough(self, t: float, order: CustomerOrder, wanted: int) -> bool:
        """Did the predictive rule take the units the sale needed? Read from the hub's own
        explanation of the item now: its figure plus the units its sources' predicted depletion
        took would have covered the sale (the hub's `predicted_depletion`, not a model of it)."""
        code = self.engine.world.products[order.product].code
        (item,) = read_availability(
            self.session,
            retailer_id=self.ids.retailers[order.retailer],
            skus=[code],
            after_id=0,
            limit=1,
            now=self._at(t),
        )
        self.session.rollback()  # end the read
        trimmed = sum(s.predicted_depletion.units for s in item.sources if s.predicted_depletion)
        return item.available < wanted <= item.available + trimmed

    # --- vendors handling purchase orders ------------------------------------------------------

    def on_line(self, line: Line) -> None:
        self.lines[line.handle[2]] = line

    def on_processed(self, t: float, line: Line, shipped: int, short: int) -> None:
        vendor_id, po_id, po_line_id = line.handle
        now = self._at(t)
        self._before_change(t)
        if short:
            with transaction(self.session):
                po_services.reject(
                    self.session,
                    vendor_id=vendor_id,
                    po_id=po_id,
                    lines=[po_services.LineQuantity(po_line_id, short)],
                    reason="out of stock",
                    refusal=self.refusal,  # the hub remembers the oversell: the variant is held
                    now=now,
                )
                lead = self.session.scalar(
                    sa.select(Flag.lead_time_seconds)
                    .where(Flag.po_line_id == po_line_id, Flag.kind.in_(REFUSALS))
                    .order_by(Flag.id.desc())
                    .limit(1)
                )
            if lead is not None:
                self.engine.note_refusal_lead(lead / 60)
            self._follow_reroutes(t)  # the refused units may have gone to a second source
        if shipped:
            with transaction(self.session):
                po_services.ship(
                    self.session,
                    vendor_id=vendor_id,
                    po_id=po_id,
                    carrier="SIM",
                    tracking_number=f"SIM{po_line_id}",
                    lines=[po_services.LineQuantity(po_line_id, shipped)],
                    now=now,
                )

    # --- returns -------------------------------------------------------------------------------

    def open_return(
        self, t: float, order: OrderRecord, units: list[tuple[Line, int]]
    ) -> list[tuple[Line, int, Any]]:
        order_id, order_line_id = order.handle
        retailer_id = self.ids.retailers[order.customer.retailer]
        self._before_change(t)
        with transaction(self.session):
            opened = order_returns.open_return(
                self.session,
                retailer_id=retailer_id,
                order_id=order_id,
                lines=[po_services.LineQuantity(order_line_id, sum(q for _, q in units))],
                reason="customer return",
                now=self._at(t),
            )
            taken = [
                (self.ids.skus_of_variant[rl.variant_id], rl.quantity, (ret.vendor_id, ret.id))
                for ret in opened
                for rl in ret.lines
            ]
        by_sku = {line.sku: line for line, _ in units}
        return [(by_sku[sku], quantity, handle) for sku, quantity, handle in taken]

    def on_return_received(self, t: float, line: Line, quantity: int, handle: Any) -> None:
        vendor_id, return_id = handle
        self._before_change(t)
        with transaction(self.session):
            order_returns.receive_return(
                self.session, vendor_id=vendor_id, return_id=return_id, quantity=quantity, now=self._at(t)
            )

    def on_return_graded(self, t: float, line: Line, quantity: int, damaged: int, handle: Any) -> None:
        vendor_id, return_id = handle
        self._before_change(t)
        with transaction(self.session):
            order_returns.grade_return(
                self.session,
                vendor_id=vendor_id,
                return_id=return_id,
                resellable=quantity - damaged,
                damaged=damaged,
                now=self._at(t),
            )

    # --- channels and background jobs ---------------------------------------------------------

    def _catch_up(self, t: float) -> None:
        """Bring the channels up to time t from the outbox, as their webhooks would have.

        Events are replayed in order, each at the moment it was written, so the throttled
        marketplace's coalesced pushes happen when they were due and carry the figures of
        that moment, exactly as if every event had been delivered as it was written.
        """
        rows = self.session.execute(_AVAILABILITY_AFTER, {"cursor": self.cursor}).all()
        self.session.rollback()  # end the read
        interval = self.config.channels.marketplace_a_interval_minutes * 60
        for row in rows:
            self.cursor = row.id
            item = self.ids.items.get((row.org_id, row.key))
            if item is None:
                continue
            written = self._minutes(row.created_at)
            self._push_due(written, inclusive=False)
            self.published[item] = row.data["available"]
            retailer = item[0]
            self.pending_a[retailer].add(item)
            if retailer not in self.push_due:
                due = next_push_at(self.last_push_a[retailer], interval, row.created_at)
                self.push_due[retailer] = self._minutes(due)
        self._push_due(t, inclusive=True)

    def _push_due(self, limit: float, *, inclusive: bool) -> None:
        """Send marketplace A's coalesced pushes that were due before `limit` (or at it)."""
        buffer = self.config.channels.marketplace_a_buffer
        for retailer, due in sorted(self.push_due.items()):
            if due > limit or (due == limit and not inclusive):
                continue
            items = self.pending_a.pop(retailer, ())
            if self.predictive:
                self._push_automatic(retailer, items, self._at(due))
            for item in () if self.predictive else items:
                self.shown_a[item] = channel_figure(
                    self.published.get(item, 0), buffer=buffer, max_quantity=None
                )
            self.last_push_a[retailer] = self._at(due)
            del self.push_due[retailer]
            self.counts["marketplace_a_pushes"] += 1

    def on_timer(self, t: float, payload: Any) -> None:
        self._before_change(t)
        if payload == AGING:
            self._republish_aging(t)
        elif payload == SWEEP:
            self._sweep(t)
        elif payload == EVALUATE:
            with transaction(self.session):
                flag_evaluation.evaluate(self.session, now=self._at(t))
            self._follow_reroutes(t)

    def _push_automatic(self, retailer: Any, items: set[tuple[Any, Any]], at: dt.datetime) -> None:
        """A push with an automatic buffer, as claims._coalesced_body sends it: each item's figure
        read when the push goes out, less outside sales over the push interval."""
        if not items:
            return
        products = self.engine.world.products
        by_code = {products[item[1]].code: item for item in items}
        figures = read_availability(
            self.session,
            retailer_id=self.ids.retailers[retailer],
            skus=sorted(by_code),
            after_id=0,
            limit=len(by_code),
            now=at,
            channel_minutes=channel_interval_minutes(
                None, self.config.channels.marketplace_a_interval_minutes * 60
            ),
        )
        self.session.rollback()  # end the read
        for found in figures:
            item = by_code[found.retailer_sku]
            self.shown_a[item] = channel_figure(
                found.available, buffer=None, max_quantity=None, automatic=found.channel_units
            )
            self.counts["marketplace_a_automatic_units"] += found.channel_units

    def _republish_aging(self, t: float) -> None:
        """The worker's aging job (network/jobs.py republish_aging), on the simulated clock."""
        now = self._at(t)
        seconds = self.config.channels.marketplace_a_interval_minutes * 60
        minutes = channel_interval_minutes(None, seconds) if self.predictive else 0.0
        retailers = {retailer_id: retailer for retailer, retailer_id in self.ids.retailers.items()}
        with transaction(self.session):
            moves = aging.aging_moves(
                self.session,
                now=now,
                since=self.last_aging,
                channel_minutes={retailer_id: [minutes] for retailer_id in retailers} if minutes else None,
            )
        self.last_aging = now
        # Marketplace A's automatic buffer moved while the hub's figure stayed: owed to its next
        # push, as aging.owe_channels owes it to an automatic throttled endpoint.
        for (retailer_id, _), skus in sorted(moves.channels.items()):
            retailer = retailers[retailer_id]
            for sku in skus:
                item = self.ids.items.get((retailer_id, sku))
                if item is not None:
                    self.pending_a[retailer].add(item)
                    self.counts["aging_owed_marketplace_a"] += 1
            if self.pending_a[retailer] and retailer not in self.push_due:
                self.push_due[retailer] = self._minutes(
                    next_push_at(self.last_push_a[retailer], seconds, now)
                )
        item_ids = moves.items
        for batch in aging.batches(item_ids):
            with transaction(self.session):
                self.counts["aging_republished"] += aging.republish_batch(self.session, batch, now=now)
        self.counts["aging_runs"] += 1

    def _follow_reroutes(self, t: float) -> None:
        """Move the world's purchase-order lines where the hub rerouted them (`order.rerouted`)."""
        rows = self.session.execute(_REROUTES_AFTER, {"cursor": self.reroute_cursor}).all()
        # Past every event read so far, not just the last reroute: reroutes are rare, and a cursor
        # left behind made each read scan the whole outbox.
        last = self.session.scalar(_LAST_EVENT)
        self.session.rollback()  # end the read
        self.reroute_cursor = max(self.reroute_cursor, last or 0)
        for row in rows:
            data = row.data
            allocations = [
                Allocation(
                    self.ids.skus_of_variant[to["vendor_variant_id"]],
                    to["quantity"],
                    (to["vendor_id"], to["purchase_order_id"], to["purchase_order_line_id"]),
                )
                for to in data["to"]
            ]
            self.engine.move_line(
                self.lines[data["from_purchase_order_line_id"]], data["quantity"], allocations, t
            )

    def _sweep(self, t: float) -> None:
        """The worker's stale sweep, run when some vendor's count may have turned stale since the last."""
        due = False
        for v, moments in self.counted_at.items():
            limit = self.config.vendors[v].stale_after_minutes
            # The window of items_turning_stale: a count taken in [last_sweep - limit, t - limit)
            # was fresh at the last sweep and is stale now (strictly older than the limit).
            i = bisect.bisect_left(moments, self.last_sweep - limit)
            if i < len(moments) and moments[i] < t - limit:
                due = True
                break
        if not due:
            return
        since, now = self._at(self.last_sweep), self._at(t)
        with transaction(self.session):
            publish_changes(self.session, items_turning_stale(self.session, since=since, now=now), now=now)
            mark_stale_sources(self.session, now=now)
        self.last_sweep = t
        self.counts["stale_sweeps"] += 1

    # --- the end -------------------------------------------------------------------------------

    def finish(self, t: float) -> dict[str, float]:
        session = self.session
        runs = dict(
            session.execute(
                sa.select(feed_models.FeedRun.status, sa.func.count()).group_by(feed_models.FeedRun.status)
            ).all()
        )
        lines = dict(
            session.execute(
                sa.select(PurchaseOrderLine.status, sa.func.count()).group_by(PurchaseOrderLine.status)
            ).all()
        )
        orders = session.scalar(sa.select(sa.func.count()).select_from(Order))
        flags = dict(session.execute(sa.select(Flag.kind, sa.func.count()).group_by(Flag.kind)).all())
        session.rollback()
        figures = {key: float(value) for key, value in self.counts.items()}
        figures |= {f"db_feed_runs_{status}": float(n) for status, n in runs.items()}
        figures |= {f"db_po_lines_{status}": float(n) for status, n in lines.items()}
        figures |= {f"db_flags_{kind}": float(n) for kind, n in flags.items()}
        figures["db_orders"] = float(orders or 0)
        return figures

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def make(config: SimConfig, *, database_url: str | None = None, predictive: bool = False) -> DropnetPolicy:
    return DropnetPolicy(config, database_url=database_url, predictive=predictive)
