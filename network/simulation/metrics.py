"""What a run measured, the figures derived from it, and their confidence intervals over seeds.

- cancellations per 1,000 orders: orders the customer was told were taken and that were then
  cancelled, by the vendor (it could not ship every unit) or by the retailer (a marketplace
  sale the hub refused to reserve), per 1,000 orders taken;
- lost sales: units a customer asked for while sellable units existed at some source of the
  product (true stock not promised to anyone) but the channel showed too few, or the hub refused;
- flag lead time: minutes between the hub's first warning on a purchase-order line and the
  vendor's refusal of it, as the hub itself records it (a refusal the hub then reroutes counts
  as a refusal, not as a cancellation: the customer still gets the units);
- dollars at the seed's scale: cancellations at a cost each and lost sales in revenue, per
  month, for a merchant taking the seed article's 100,000 orders / $10 m a month.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

from network.simulation.config import Money

# Two-sided 95 % Student t quantiles by degrees of freedom (beyond the table: the normal's 1.96).
_T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}  # fmt: skip


@dataclass
class Metrics:
    policy: str
    seed: int
    customer_orders: int = 0
    demand_units: int = 0
    orders: int = 0
    ordered_units: int = 0
    order_value: float = 0.0
    units_shipped: int = 0
    sales: float = 0.0
    vendor_cancelled_orders: int = 0
    vendor_short_units: int = 0
    vendor_cancelled_before_order: int = 0  # the units were already gone when the order was taken
    vendor_cancelled_after_order: int = 0  # sold elsewhere between the order and its processing
    channel_cancelled_orders: int = 0
    lost_units: int = 0
    lost_sales: float = 0.0
    refused_without_stock: int = 0
    returned_units: int = 0
    damaged_units: int = 0
    unprocessed_units: int = 0
    vendor_refused_lines: int = 0  # lines a vendor could not fill in full (rerouted or not)
    rerouted_lines: int = 0
    rerouted_units: int = 0
    flag_lead_minutes: list[float] = field(default_factory=list)
    lost_units_by: dict[str, int] = field(default_factory=dict)  # lost units by the policy's reason
    extra: dict[str, float] = field(default_factory=dict)
    # Added for issue 18 (runs stored before lack them: empty, and the report says "not recorded").
    lost_sales_by: dict[str, float] = field(default_factory=dict)  # lost revenue by the same reasons
    # Per simulated day ("1" is the first), by the day the customer ordered: orders taken, orders
    # then cancelled (by the vendor or the channel), units asked and units lost.
    daily_orders: dict[str, int] = field(default_factory=dict)
    daily_cancelled: dict[str, int] = field(default_factory=dict)
    daily_demand_units: dict[str, int] = field(default_factory=dict)
    daily_lost_units: dict[str, int] = field(default_factory=dict)

    def merge(self, other: Metrics) -> Metrics:
        """Add another part of the same run (an independent group of vendors)."""
        merged = Metrics(self.policy, self.seed)
        for f in fields(self):
            if f.name in ("policy", "seed"):
                continue
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, dict):
                value = dict(a)
                for key, number in b.items():
                    value[key] = value.get(key, 0) + number
            else:
                value = a + b
            setattr(merged, f.name, value)
        return merged

    # --- derived figures -------------------------------------------------------------------

    @property
    def cancelled_orders(self) -> int:
        return self.vendor_cancelled_orders + self.channel_cancelled_orders

    def per_thousand(self, count: int) -> float:
        return 1000 * count / self.orders if self.orders else 0.0

    @property
    def cancellations_per_1000(self) -> float:
        return self.per_thousand(self.cancelled_orders)

    @property
    def vendor_cancellations_per_1000(self) -> float:
        return self.per_thousand(self.vendor_cancelled_orders)

    @property
    def lost_share(self) -> float:
        """Lost units as a share of the units customers asked for."""
        return self.lost_units / self.demand_units if self.demand_units else 0.0

    @property
    def median_flag_lead_minutes(self) -> float | None:
        return statistics.median(self.flag_lead_minutes) if self.flag_lead_minutes else None

    @property
    def flagged_first_share(self) -> float | None:
        """Share of vendor refusals the hub had flagged beforehand."""
        if not self.vendor_refused_lines:
            return None
        return len(self.flag_lead_minutes) / self.vendor_refused_lines

    @property
    def has_daily(self) -> bool:
        """Were the per-day figures recorded (runs stored before issue 18 have none)?"""
        return bool(self.daily_orders)

    def day_cancellations_per_1000(self, day: int) -> float | None:
        """Cancellations of the orders taken on one day, per 1,000 of that day's orders."""
        if not self.has_daily:
            return None
        orders = self.daily_orders.get(str(day), 0)
        return 1000 * self.daily_cancelled.get(str(day), 0) / orders if orders else 0.0

    def ordinary_day_cancellations_per_1000(self, spike_day: int) -> float | None:
        """The same on every other day together: cancellations per 1,000 orders away from the spike."""
        if not self.has_daily:
            return None
        day = str(spike_day)
        orders = sum(n for d, n in self.daily_orders.items() if d != day)
        cancelled = sum(n for d, n in self.daily_cancelled.items() if d != day)
        return 1000 * cancelled / orders if orders else 0.0

    def day_lost_share(self, day: int) -> float | None:
        """Lost units as a share of the units asked on one day."""
        if not self.has_daily:
            return None
        asked = self.daily_demand_units.get(str(day), 0)
        return self.daily_lost_units.get(str(day), 0) / asked if asked else 0.0

    def lost_sales_by_cause(self) -> dict[str, float]:
        """Lost revenue by cause. Runs stored before the revenue was kept per cause have only the
        units: their revenue is shared out in proportion to the units (marked `estimated`)."""
        if self.lost_sales_by or not self.lost_units:
            return dict(self.lost_sales_by)
        return {
            cause: self.lost_sales * units / self.lost_units for cause, units in self.lost_units_by.items()
        }

    def cost_split(self, money: Money) -> dict[str, float]:
        """The monthly cost at the seed's scale, split: `cancellations` and `lost:<cause>` for each
        cause of lost sales; the parts add up to `monthly_cost(...)["total"]`."""
        cost = self.monthly_cost(money)
        split = {"cancellations": cost["cancellations"]}
        by_cause = self.lost_sales_by_cause()
        known = sum(by_cause.values())
        for cause, value in sorted(by_cause.items()):
            split[f"lost:{cause}"] = value / self.order_value * money.seed_sales_per_month
        if self.order_value and self.lost_sales - known > 1e-6 * max(1.0, self.lost_sales):
            # Lost revenue the run did not attribute (none in runs of this version).
            split["lost:unattributed"] = (
                (self.lost_sales - known) / self.order_value * money.seed_sales_per_month
            )
        return split

    def monthly_cost(self, money: Money) -> dict[str, float]:
        """Cancellations and lost sales per month at the seed article's scale, in dollars."""
        if not self.orders or not self.order_value:
            return {"cancellations": 0.0, "lost_sales": 0.0, "total": 0.0, "share_of_sales": 0.0}
        cancellations = (
            self.cancelled_orders / self.orders * money.seed_orders_per_month * money.cost_per_cancellation
        )
        lost = self.lost_sales / self.order_value * money.seed_sales_per_month
        total = cancellations + lost
        return {
            "cancellations": cancellations,
            "lost_sales": lost,
            "total": total,
            "share_of_sales": total / money.seed_sales_per_month,
        }

    def row(self, money: Money, spike_day: int = 0) -> dict[str, float | int | str | None]:
        """One flat record for the CSV and the table (`spike_day`: the world's, 0 for none)."""
        cost = self.monthly_cost(money)
        return {
            "policy": self.policy,
            "seed": self.seed,
            "customer_orders": self.customer_orders,
            "orders": self.orders,
            "cancellations_per_1000": round(self.cancellations_per_1000, 3),
            "vendor_cancellations_per_1000": round(self.vendor_cancellations_per_1000, 3),
            "channel_cancellations_per_1000": round(self.per_thousand(self.channel_cancelled_orders), 3),
            "vendor_cancelled_orders": self.vendor_cancelled_orders,
            "vendor_cancelled_before_order": self.vendor_cancelled_before_order,
            "vendor_cancelled_after_order": self.vendor_cancelled_after_order,
            "channel_cancelled_orders": self.channel_cancelled_orders,
            "lost_units": self.lost_units,
            "lost_share_pct": round(100 * self.lost_share, 3),
            "lost_sales_usd": round(self.lost_sales, 2),
            "order_value_usd": round(self.order_value, 2),
            "vendor_refused_lines": self.vendor_refused_lines,
            "rerouted_lines": self.rerouted_lines,
            "rerouted_units": self.rerouted_units,
            "median_flag_lead_minutes": _round(self.median_flag_lead_minutes),
            "flagged_first_share": _round(self.flagged_first_share),
            "monthly_cost_usd_at_seed_scale": round(cost["total"], 0),
            "cost_share_of_sales_pct": round(100 * cost["share_of_sales"], 3),
            **{f"lost_units_{key}": value for key, value in sorted(self.lost_units_by.items())},
            "spike_day_orders": self.daily_orders.get(str(spike_day))
            if self.has_daily and spike_day
            else None,
            "spike_day_cancelled_orders": (
                self.daily_cancelled.get(str(spike_day), 0) if self.has_daily and spike_day else None
            ),
            "spike_day_cancellations_per_1000": _round(
                self.day_cancellations_per_1000(spike_day) if spike_day else None
            ),
            "ordinary_day_cancellations_per_1000": _round(
                self.ordinary_day_cancellations_per_1000(spike_day) if spike_day else None
            ),
            "spike_day_lost_share_pct": _round(
                None if not spike_day or not self.has_daily else 100 * (self.day_lost_share(spike_day) or 0.0)
            ),
            **{
                f"cost_{key.replace(':', '_')}_usd": round(value, 0)
                for key, value in self.cost_split(money).items()
            },
            **{f"x_{key}": value for key, value in sorted(self.extra.items())},
        }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def t95(df: int) -> float:
    if df < 1:
        return math.nan
    known = [k for k in _T95 if k <= df]
    return _T95[max(known)] if df <= 120 else 1.96


def interval(values: Sequence[float]) -> Interval:
    """Mean with its two-sided 95 % Student t confidence interval."""
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = statistics.fmean(values)
    if n == 1:
        return Interval(mean, mean, mean, 1)
    half = t95(n - 1) * statistics.stdev(values) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def pooled_lead_minutes(runs: Iterable[Metrics]) -> list[float]:
    return sorted(lead for run in runs for lead in run.flag_lead_minutes)
