"""The shared model of the usual workarounds: a retailer tool copying vendor counts to channels.

Exactly how it works (docs/simulation.md says the same):

- The tool keeps each vendor SKU's last *reported* quantity, from the same exports the hub
  gets: a full export replaces every count (rows it omits read as zero, so a truncated export
  zeroes them: there is no guard), a delta export changes the rows it carries, and a silent
  vendor's unchanged file keeps the old counts (there is no staleness rule).
- Every `sync_minutes` it sets each listing of each retailer: a product's figure is the sum of
  its sources' reported quantities, shown whole on every channel (full quantity), or divided
  between the channels by `shares` with largest remainders, so that every unit is on exactly
  one channel (split stock). Nothing is subtracted for orders the vendor has not processed
  yet: there is no in-flight accounting.
- Between syncs each channel only subtracts its own sales; a customer buys if the listing
  shows at least the quantity wanted, else the sale is lost.
- An order goes to the source with the most reported units (ties: the first). There is no
  reroute: a vendor that cannot ship cancels the units.
- With `restock_on_refund`, a returned unit is put back on the channel it was sold on when the
  return reaches the vendor (the refund dialog's "restock" box, ticked by default in common
  shop systems), whether or not it is damaged, until the next sync overwrites the listing.
"""

from __future__ import annotations

import math
from typing import Any

from network.simulation.config import CHANNELS
from network.simulation.engine import Allocation, Decision, Engine, Kind, Line, Policy, Report
from network.simulation.world import CustomerOrder

SYNC = "sync"


def split(total: int, shares: tuple[float, ...]) -> list[int]:
    """Divide units between channels by shares, largest remainders first; ties go to the bigger share."""
    exact = [total * share for share in shares]
    parts = [math.floor(x) for x in exact]
    rest = total - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), -shares[i], i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


class PeriodicSync(Policy):
    def __init__(
        self, name: str, *, sync_minutes: int, first_minute: int = 0, shares: tuple[float, ...] | None = None
    ) -> None:
        self.name = name
        self.sync_minutes = sync_minutes
        self.first_minute = first_minute
        self.shares = shares

    def attach(self, engine: Engine) -> None:
        super().attach(engine)
        world = engine.world
        self.restock_on_refund = world.config.baselines.restock_on_refund
        self.reported: dict[int, int] = {sku.id: 0 for sku in world.live_skus()}
        self.sources = {p.id: p.sources for p in world.live_products()}
        self.listings: dict[tuple[int, int], list[int]] = {}
        self.listed = [set(listed) for listed in world.assortment]
        self.changed: set[int] = set()  # products whose reported total moved since the last sync
        self.touched: list[set[int]] = [set() for _ in world.assortment]  # sold or restocked since
        self.syncs = 0
        engine.schedule(0, Kind.TIMER, SYNC)  # the first sync, right after the first exports
        t = self.first_minute or self.sync_minutes
        while t < world.config.minutes:
            engine.schedule(t, Kind.TIMER, SYNC)
            t += self.sync_minutes

    def on_export(self, t: float, report: Report) -> None:
        if report.repeat:
            return  # the same file again: the counts the tool holds are already these
        skus = self.engine.world.skus
        seen = set()
        for sku, quantity, _pending, _damaged in report.rows:
            seen.add(sku)
            self._report(sku, quantity, skus)
        if report.full:
            for sku in self.engine.vendor_skus[report.vendor]:
                if sku not in seen:
                    self._report(sku, 0, skus)

    def _report(self, sku: int, quantity: int, skus: list) -> None:
        if self.reported[sku] != quantity:
            self.reported[sku] = quantity
            self.changed.add(skus[sku].product)

    def on_timer(self, t: float, payload: Any) -> None:
        if payload != SYNC:
            return
        first = self.syncs == 0
        self.syncs += 1
        for r, listed in enumerate(self.listed):
            products = listed if first else (self.changed | self.touched[r]) & listed
            for p in products:
                total = sum(self.reported[s] for s in self.sources[p])
                self.listings[r, p] = split(total, self.shares) if self.shares else [total] * 3
            self.touched[r].clear()
        self.changed.clear()

    def on_order(self, t: float, order: CustomerOrder) -> Decision:
        listing = self.listings[order.retailer, order.product]
        if listing[order.channel] < order.quantity:
            return Decision(reason=f"shown_{CHANNELS[order.channel]}", shown=max(0, listing[order.channel]))
        listing[order.channel] -= order.quantity
        self.touched[order.retailer].add(order.product)
        sources = self.sources[order.product]
        sku = max(sources, key=lambda s: (self.reported[s], -sources.index(s)))
        return Decision((Allocation(sku, order.quantity),))

    def on_return_received(self, t: float, line: Line, quantity: int, handle: Any) -> None:
        if self.restock_on_refund:
            customer = line.order.customer
            self.listings[customer.retailer, customer.product][customer.channel] += quantity
            self.touched[customer.retailer].add(customer.product)
