"""The discrete-event engine: vendors' true stock, one event queue, and a policy deciding the rest.

The engine owns the truth every policy is measured against: what each vendor physically has
(sellable, pending inspection, damaged), what it has on order from its supplier, and which
purchase-order units it has received but not yet processed. Vendors behave the same under every
policy: they sell on their other channels, reorder on a periodic review, export their counts on
their cadence, import purchase orders in batches and ship what their true stock covers (refusing
the rest), and receive and grade returns. The policy decides what each channel shows, which
customer orders are taken and where they are routed; the engine counts what follows.

Events at one moment run in `Kind` order, then in the order they were scheduled.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict, deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple

from network.simulation.config import FULL
from network.simulation.metrics import Metrics
from network.simulation.world import CustomerOrder, World


class Kind(IntEnum):
    """At one moment: stock moves first, then vendors import purchase orders, then they export
    (so an export counts what was just shipped), then retailers' timers, then customers."""

    RESTOCK = 0
    RETURN_RECEIVE = 1
    RETURN_GRADE = 2
    REVIEW = 3
    OUTSIDE = 4
    PROCESS = 5
    EXPORT = 6
    TIMER = 7
    RETURN_OPEN = 8
    ORDER = 9


@dataclass(frozen=True)
class Report:
    """What a vendor's export says: (sku id, quantity, pending inspection, damaged) per row.

    `repeat` is the same file again (the export stopped regenerating); `broken` is a truncated
    full export (omitted rows read as zero); `at` is the moment the count was true.
    """

    vendor: int
    at: float
    full: bool
    rows: tuple[tuple[int, int, int, int], ...]
    broken: bool = False
    repeat: bool = False


class Allocation(NamedTuple):
    sku: int
    quantity: int
    handle: Any = None  # the policy's own reference to the purchase-order line


class Decision(NamedTuple):
    """A policy's answer to a customer order: the units it routed, or a refusal."""

    allocations: tuple[Allocation, ...] = ()
    handle: Any = None  # the policy's reference to the order
    channel_cancelled: bool = False  # taken on a marketplace, then refused: the retailer cancels it
    reason: str = ""  # why a refused order was refused (the report attributes lost sales by it)
    shown: int = 0  # a refusal: the units the channel (or the hub, at checkout) offered

    @property
    def accepted(self) -> bool:
        return bool(self.allocations)


@dataclass(eq=False, slots=True)
class Line:
    """Purchase-order units of one order at one vendor SKU, as the vendor must fill them."""

    order: OrderRecord
    sku: int
    quantity: int
    handle: Any
    placed_at: float
    covered: bool = True  # the vendor had these units, promised to no one, when the order was taken
    shipped: int = 0
    short: int = 0
    refused_moved: int = 0  # refused units the hub then moved to another source
    returned: int = 0
    processed: bool = False
    dropped: bool = False  # every unit taken away from this vendor by the hub before it processed them


@dataclass(eq=False, slots=True)
class OrderRecord:
    customer: CustomerOrder
    handle: Any
    lines: list[Line] = field(default_factory=list)
    vendor_cancelled: bool = False
    return_opened: bool = False


class Policy:
    """How a hub (or a baseline tool) shows stock and takes orders; hooks the engine calls."""

    name = "policy"

    def attach(self, engine: Engine) -> None:
        self.engine = engine

    def on_export(self, t: float, report: Report) -> None:
        """A vendor's export arrived."""

    def on_order(self, t: float, order: CustomerOrder) -> Decision:
        raise NotImplementedError

    def on_timer(self, t: float, payload: Any) -> None:
        """A timer the policy scheduled with `engine.schedule`."""

    def on_line(self, line: Line) -> None:
        """A purchase-order line now exists in the world (an order's, or a reroute's)."""

    def on_processed(self, t: float, line: Line, shipped: int, short: int) -> None:
        """The vendor shipped `shipped` units of the line and refused `short` (the hub may reroute them)."""

    def open_return(
        self, t: float, order: OrderRecord, units: list[tuple[Line, int]]
    ) -> list[tuple[Line, int, Any]]:
        """The customer returns shipped units; return which lines' units go back to which vendor."""
        return [(line, quantity, None) for line, quantity in units]

    def on_return_received(self, t: float, line: Line, quantity: int, handle: Any) -> None:
        """The vendor received returned units (pending inspection)."""

    def on_return_graded(self, t: float, line: Line, quantity: int, damaged: int, handle: Any) -> None:
        """The vendor graded returned units."""

    def finish(self, t: float) -> dict[str, float]:
        """The run is over: return policy-specific figures for the report."""
        return {}

    def close(self) -> None:
        """Release what the policy holds (a database)."""


def _day(t: float) -> str:
    """The simulated day of a moment, "1" for the first (a string: the metrics' JSON keys)."""
    return str(int(t // 1440) + 1)


class Engine:
    def __init__(self, world: World, policy: Policy) -> None:
        self.world = world
        self.config = world.config
        self.policy = policy
        self.metrics = Metrics(policy=policy.name, seed=world.seed)
        self.skus = world.skus
        self.on_hand: dict[int, int] = dict(world.initial_stock)
        self.pending: dict[int, int] = defaultdict(int)
        self.damaged: dict[int, int] = defaultdict(int)
        self.on_order: dict[int, int] = defaultdict(int)
        self.queued: dict[int, int] = defaultdict(int)
        self.queues: dict[int, deque[Line]] = {v: deque() for v in world.vendors}
        self.last_sent: dict[int, tuple[int, int, int]] = {}
        self.last_report: dict[int, Report] = {}
        self.vendor_skus = {v: [s.id for s in world.skus_of(v)] for v in world.vendors}
        self._heap: list = []
        self._seq = itertools.count()
        self.now = 0.0

    # --- the queue -----------------------------------------------------------------------------

    def schedule(self, at: float, kind: Kind, payload: Any) -> None:
        heapq.heappush(self._heap, (at, int(kind), next(self._seq), payload))

    def run(self) -> Metrics:
        world = self.world
        for sale in world.outside:
            self.schedule(sale.at, Kind.OUTSIDE, sale)
        for review in world.reviews:
            self.schedule(review.at, Kind.REVIEW, review)
        for export in world.exports:
            self.schedule(export.at, Kind.EXPORT, export)
        for order in world.orders:
            self.schedule(order.at, Kind.ORDER, order)
        for v in world.vendors:
            every = self.config.vendors[v].po_batch_minutes
            for k in range(1, int(self.config.minutes // every) + 1):
                self.schedule(k * every, Kind.PROCESS, v)
        self.policy.attach(self)
        handlers = {
            Kind.RESTOCK: self._restock,
            Kind.RETURN_RECEIVE: self._return_receive,
            Kind.RETURN_GRADE: self._return_grade,
            Kind.REVIEW: self._review,
            Kind.OUTSIDE: self._outside,
            Kind.EXPORT: self._export,
            Kind.TIMER: self._timer,
            Kind.PROCESS: self._process,
            Kind.RETURN_OPEN: self._return_open,
            Kind.ORDER: self._order,
        }
        horizon = self.config.minutes
        heap = self._heap
        while heap and heap[0][0] < horizon:
            at, kind, _, payload = heapq.heappop(heap)
            self.now = at
            handlers[kind](at, payload)
        self.metrics.extra.update(self.policy.finish(horizon))
        self.metrics.unprocessed_units = sum(self.queued.values())
        return self.metrics

    # --- what the vendors do -------------------------------------------------------------------

    def _restock(self, t: float, payload: tuple[int, int]) -> None:
        sku, quantity = payload
        self.on_order[sku] -= quantity
        self.on_hand[sku] += quantity

    def _review(self, t: float, review: Any) -> None:
        sku = review.sku
        position = self.on_hand[sku] + self.on_order[sku] + self.pending[sku] - self.queued[sku]
        quantity = self.world.order_up_to[sku] - position
        if quantity > 0:
            self.on_order[sku] += quantity
            self.schedule(t + review.lead, Kind.RESTOCK, (sku, quantity))

    def _outside(self, t: float, sale: Any) -> None:
        self.on_hand[sale.sku] -= min(sale.quantity, self.on_hand[sale.sku])

    def _export(self, t: float, export: Any) -> None:
        v = export.vendor
        spec = self.config.vendors[v]
        if export.silent:
            last = self.last_report.get(v)
            if last is not None and spec.mode == FULL:
                self.policy.on_export(t, Report(v, last.at, True, last.rows, last.broken, repeat=True))
            return
        rows = []
        for sku in self.vendor_skus[v]:
            row = (self.on_hand[sku], self.pending[sku], self.damaged[sku])
            if export.full or self.last_sent.get(sku) != row:
                rows.append((sku, *row))
            self.last_sent[sku] = row
        if not export.full and not rows:
            return  # a push vendor with nothing new sends nothing
        broken = export.keep is not None
        if broken:
            rows = rows[: int(len(rows) * export.keep)]
        report = Report(v, t, export.full, tuple(rows), broken)
        if export.full:
            self.last_report[v] = report
        self.policy.on_export(t, report)

    def _process(self, t: float, vendor: int) -> None:
        """The vendor imports its purchase orders: ships what its true stock covers, refuses the rest."""
        queue = self.queues[vendor]
        while queue:
            line = queue.popleft()
            if line.dropped or line.processed:
                continue
            sku = line.sku
            shipped = min(line.quantity, self.on_hand[sku])
            short = line.quantity - shipped
            self.on_hand[sku] -= shipped
            self.queued[sku] -= line.quantity
            line.processed, line.shipped, line.short = True, shipped, short
            self.policy.on_processed(t, line, shipped, short)
            self.metrics.units_shipped += shipped
            self.metrics.sales += shipped * self.skus[sku].price
            record = line.order
            if short:
                self.metrics.vendor_refused_lines += 1
            unserved = short - line.refused_moved
            if unserved > 0:
                self.metrics.vendor_short_units += unserved
                if not record.vendor_cancelled:
                    record.vendor_cancelled = True
                    self.metrics.vendor_cancelled_orders += 1
                    day = _day(record.customer.at)  # the day the customer ordered
                    daily = self.metrics.daily_cancelled
                    daily[day] = daily.get(day, 0) + 1
                    # Why: the units were gone before the order was taken (the count shown was
                    # old), or the vendor's other channels took them before it processed the PO.
                    if line.covered:
                        self.metrics.vendor_cancelled_after_order += 1
                    else:
                        self.metrics.vendor_cancelled_before_order += 1
            if shipped and record.customer.returned and not record.return_opened:
                record.return_opened = True
                self.schedule(t + record.customer.request_after, Kind.RETURN_OPEN, record)

    def _return_open(self, t: float, record: OrderRecord) -> None:
        units = [
            (line, line.shipped - line.returned) for line in record.lines if line.shipped > line.returned
        ]
        if not units:
            return
        damaged_left = record.customer.damaged_units
        for line, quantity, handle in self.policy.open_return(t, record, units):
            line.returned += quantity
            damaged = min(damaged_left, quantity)
            damaged_left -= damaged
            self.metrics.returned_units += quantity
            self.schedule(t + record.customer.transit, Kind.RETURN_RECEIVE, (line, quantity, damaged, handle))

    def _return_receive(self, t: float, payload: tuple) -> None:
        line, quantity, damaged, handle = payload
        self.pending[line.sku] += quantity
        self.policy.on_return_received(t, line, quantity, handle)
        self.schedule(t + line.order.customer.inspection, Kind.RETURN_GRADE, payload)

    def _return_grade(self, t: float, payload: tuple) -> None:
        line, quantity, damaged, handle = payload
        self.pending[line.sku] -= quantity
        self.damaged[line.sku] += damaged
        self.on_hand[line.sku] += quantity - damaged
        self.metrics.damaged_units += damaged
        self.policy.on_return_graded(t, line, quantity, damaged, handle)

    # --- customers -----------------------------------------------------------------------------

    def true_free(self, product: int) -> int:
        """Units of the product that exist and are promised to nobody: the oracle of lost sales."""
        return sum(max(0, self.on_hand[s] - self.queued[s]) for s in self.world.products[product].sources)

    def _order(self, t: float, order: CustomerOrder) -> None:
        m = self.metrics
        m.customer_orders += 1
        m.demand_units += order.quantity
        day = _day(t)
        m.daily_demand_units[day] = m.daily_demand_units.get(day, 0) + order.quantity
        free = self.true_free(order.product)
        decision = self.policy.on_order(t, order)
        price = self.world.products[order.product].price
        if not decision.accepted:
            # Lost only if the channel offered less than existed: a customer asking for more
            # units than anyone has was refused rightly, whatever the channel showed.
            wanted = min(order.quantity, free)
            lost = wanted if decision.shown < wanted else 0
            m.lost_units += lost
            m.lost_sales += lost * price
            if lost:
                reason = decision.reason or "refused"
                m.lost_units_by[reason] = m.lost_units_by.get(reason, 0) + lost
                m.lost_sales_by[reason] = m.lost_sales_by.get(reason, 0.0) + lost * price
                m.daily_lost_units[day] = m.daily_lost_units.get(day, 0) + lost
            if decision.channel_cancelled:
                m.channel_cancelled_orders += 1
                m.daily_cancelled[day] = m.daily_cancelled.get(day, 0) + 1
            if not lost:
                m.refused_without_stock += 1
            return
        record = OrderRecord(order, decision.handle)
        m.orders += 1
        m.daily_orders[day] = m.daily_orders.get(day, 0) + 1
        m.ordered_units += order.quantity
        m.order_value += order.quantity * price
        for allocation in decision.allocations:
            self.add_line(record, allocation, t)

    def add_line(self, record: OrderRecord, allocation: Allocation, t: float) -> Line:
        free = self.on_hand[allocation.sku] - self.queued[allocation.sku]
        line = Line(
            record, allocation.sku, allocation.quantity, allocation.handle, t, free >= allocation.quantity
        )
        record.lines.append(line)
        self.queued[line.sku] += line.quantity
        self.queues[self.skus[line.sku].vendor].append(line)
        self.policy.on_line(line)
        return line

    def move_line(self, line: Line, quantity: int, allocations: list[Allocation], t: float) -> list[Line]:
        """The hub moved `quantity` units of a line to other sources (a reroute): follow it.

        Units the vendor has not processed leave its queue; units it refused are served anew.
        """
        if line.processed:
            line.refused_moved += quantity
        else:
            line.quantity -= quantity
            self.queued[line.sku] -= quantity
            line.dropped = line.quantity <= 0
        self.metrics.rerouted_lines += 1
        self.metrics.rerouted_units += quantity
        return [self.add_line(line.order, allocation, t) for allocation in allocations]

    def note_refusal_lead(self, minutes: float) -> None:
        """The hub had flagged a line this long before its vendor refused it."""
        self.metrics.flag_lead_minutes.append(minutes)

    def _timer(self, t: float, payload: Any) -> None:
        self.policy.on_timer(t, payload)
