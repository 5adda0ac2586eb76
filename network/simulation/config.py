"""Every parameter of the simulated world, with its default; loaded from a TOML file.

`docs/simulation/default.toml` holds the same values as the dataclasses below, with the
realistic range and basis of each (a test keeps the two equal); `--config FILE` overrides any of
them. Times are minutes unless a name says otherwise; `[a, b]` pairs are uniform ranges.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

CHANNELS = ("own_site", "marketplace_a", "marketplace_b")
OWN_SITE, MARKETPLACE_A, MARKETPLACE_B = range(3)
FULL, DELTA = "full", "delta"

# E-commerce orders by hour of day (UTC = the shoppers' local time here): a night trough, a
# lunch shoulder and an evening peak. Relative weights (normalized to mean 1 where used, so
# `orders_per_day` stays the daily volume); these have mean 1.0.
HOURLY_PROFILE = (
    0.48, 0.32, 0.22, 0.18, 0.18, 0.28, 0.45, 0.70, 0.95, 1.10, 1.20, 1.25,
    1.30, 1.25, 1.24, 1.20, 1.25, 1.35, 1.50, 1.70, 1.85, 1.80, 1.35, 0.90,
)  # fmt: skip


class ConfigError(ValueError):
    """A configuration file that names an unknown parameter or gives an impossible value."""


@dataclass(frozen=True)
class VendorSpec:
    """One vendor: how it reports stock, how it handles purchase orders, how its exports fail."""

    name: str
    feed_minutes: int  # a new export (push or file) this often
    feed_offset_minutes: float | None = None  # first regular export (None: drawn within the first interval)
    mode: str = FULL  # full: the whole catalog each time; delta: only rows that changed
    full_every_minutes: int = 360  # delta vendors also send a full export this often
    po_batch_minutes: int = 60  # the vendor imports (and ships or refuses) purchase orders this often
    stale_after_minutes: int = 1440  # connection term: older counts stop counting on the hub
    broken_per_month: float = 1.0  # broken (truncated) full exports per 30 days
    broken_keep: tuple[float, float] = (0.0, 0.8)  # share of rows a broken export still has
    silent_per_month: float = 0.5  # episodes when the export stops regenerating
    silent_hours: tuple[float, float] = (6.0, 36.0)


DEFAULT_VENDORS = (
    VendorSpec(
        "Northwind (API push)", feed_minutes=30, mode=DELTA, full_every_minutes=360, po_batch_minutes=15
    ),
    VendorSpec("Acme (hourly CSV pull)", feed_minutes=60, po_batch_minutes=60),
    VendorSpec("Blue Ridge (hourly CSV pull)", feed_minutes=60, po_batch_minutes=120),
    VendorSpec("Cobalt (EDI 846 every 4 h)", feed_minutes=240, po_batch_minutes=240),
    VendorSpec("Delta Home (EDI 846 twice a day)", feed_minutes=720, po_batch_minutes=480),
)


@dataclass(frozen=True)
class Catalog:
    skus_per_vendor: int = 2000
    retailers: int = 3
    second_source_share: float = 0.2  # share of each vendor's SKUs that another vendor also offers (<= 0.5)
    assortment_share: float = 0.6  # share of all products each retailer lists
    price_median: float = 55.0  # unit price, lognormal
    price_sigma: float = 0.85


@dataclass(frozen=True)
class Demand:
    orders_per_day: float = 3333.0  # customer orders across all retailers and channels
    popularity_sigma: float = 1.5  # lognormal spread of product popularity (the long tail)
    channel_shares: tuple[float, float, float] = (0.40, 0.35, 0.25)  # own site, marketplace A, B
    hourly_profile: tuple[float, ...] = HOURLY_PROFILE
    quantity_weights: tuple[float, ...] = (0.80, 0.15, 0.05)  # P(1 unit), P(2), P(3)
    spike_day: int = 15  # 1-based day of the promotion / pricing mistake (0: none)
    spike_products: int = 5
    spike_factor: float = 20.0


@dataclass(frozen=True)
class VendorStock:
    outside_ratio: float = 1.0  # vendor's sales on its other channels, relative to the hub's demand
    review_days: float = 7.0  # periodic review: the vendor reorders from its supplier this often
    lead_days: tuple[float, float] = (3.0, 14.0)
    safety_factor: float = 1.3  # order-up-to level = demand over (review + mean lead) x this
    min_order_up_to: int = 3


@dataclass(frozen=True)
class Returns:
    rate: float = 0.12  # share of shipped order lines that come back
    request_days: tuple[float, float] = (2.0, 14.0)  # after shipment, the customer asks to return
    transit_days: tuple[float, float] = (2.0, 6.0)  # the parcel's way back to the vendor
    inspection_days: tuple[float, float] = (1.0, 3.0)  # received, then graded
    damaged_share: float = 0.3  # per returned unit


@dataclass(frozen=True)
class Channels:
    marketplace_a_interval_minutes: int = 10  # the throttled marketplace takes one update this often
    marketplace_a_buffer: int = 1  # units held back on it (Dropnet's per-channel buffer)


@dataclass(frozen=True)
class Hub:
    """Dropnet's settings and background jobs, in simulated time."""

    auto_reroute: bool = True  # retailers let the hub move doubtful lines to a second source
    oversell_hold_hours: float = 24.0  # a variant refused for lack of stock stays held this long
    stale_sweep_minutes: int = 5  # the worker's stale sweep (it runs when a count may have turned stale)
    flag_evaluation_minutes: int = 60  # the worker's flag evaluation (overdue lines, holds, reroutes)


@dataclass(frozen=True)
class Baselines:
    split_shares: tuple[float, float, float] = (0.40, 0.30, 0.30)  # own site, marketplace A, B
    daily_sync_hour: int = 2  # the nightly sync runs at this hour
    restock_on_refund: bool = True  # a refunded return puts the unit back on the channel


@dataclass(frozen=True)
class Money:
    cost_per_cancellation: float = 100.0  # support call, refund, goodwill, marketplace penalty
    seed_orders_per_month: int = 100_000  # the seed article's scale ...
    seed_sales_per_month: float = 10_000_000.0  # ... and its sales


@dataclass(frozen=True)
class SimConfig:
    days: int = 30
    start: dt.datetime = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)  # a Monday
    catalog: Catalog = field(default_factory=Catalog)
    demand: Demand = field(default_factory=Demand)
    vendor_stock: VendorStock = field(default_factory=VendorStock)
    returns: Returns = field(default_factory=Returns)
    channels: Channels = field(default_factory=Channels)
    hub: Hub = field(default_factory=Hub)
    baselines: Baselines = field(default_factory=Baselines)
    money: Money = field(default_factory=Money)
    vendors: tuple[VendorSpec, ...] = DEFAULT_VENDORS

    @property
    def minutes(self) -> int:
        return self.days * 1440

    def check(self) -> SimConfig:
        """Return self, or raise ConfigError naming the first impossible value."""
        problems = []
        if self.days < 1:
            problems.append("days must be at least 1")
        if not self.vendors:
            problems.append("at least one vendor")
        for spec in self.vendors:
            if spec.mode not in (FULL, DELTA):
                problems.append(f"vendor {spec.name!r}: mode must be full or delta")
            if (
                min(
                    spec.feed_minutes,
                    spec.full_every_minutes,
                    spec.po_batch_minutes,
                    spec.stale_after_minutes,
                )
                < 1
            ):
                problems.append(f"vendor {spec.name!r}: every interval must be at least one minute")
        if self.catalog.second_source_share * 2 > 1 or self.catalog.second_source_share < 0:
            problems.append("catalog.second_source_share must be between 0 and 0.5")
        if not 0 < self.catalog.assortment_share <= 1:
            problems.append("catalog.assortment_share must be in (0, 1]")
        if len(self.demand.hourly_profile) != 24:
            problems.append("demand.hourly_profile needs 24 values")
        for name in ("channel_shares",):
            if abs(sum(getattr(self.demand, name)) - 1) > 1e-9:
                problems.append(f"demand.{name} must add up to 1")
        if abs(sum(self.baselines.split_shares) - 1) > 1e-9:
            problems.append("baselines.split_shares must add up to 1")
        if problems:
            raise ConfigError("; ".join(problems))
        return self


def load_config(path: str | Path | None = None, **overrides: object) -> SimConfig:
    """Return the defaults, overridden by a TOML file's values and then by keyword arguments.

    Raises ConfigError for an unknown parameter or an impossible value.
    """
    data: dict = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
    config = _build(SimConfig, data, "")
    return dataclasses.replace(config, **overrides).check() if overrides else config.check()


def _build(cls: type, data: Mapping, where: str) -> object:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown parameter {where}{unknown[0]}")
    values = {}
    for name, value in data.items():
        values[name] = _value(cls, fields[name], value, f"{where}{name}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where.rstrip('.') or 'config'}: {exc}") from None


def _value(cls: type, f: dataclasses.Field, value: object, where: str) -> object:
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        expected = {"str": str, "int": int}[str(f.type)]  # the required fields of a vendor
        if type(value) is not expected:
            raise ConfigError(f"{where} must be a {expected.__name__}")
        return value
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    if default is None:  # optional numbers: TOML has no null, so leaving the key out keeps None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where} must be a number")
    if dataclasses.is_dataclass(default):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a table")
        return _build(type(default), value, f"{where}.")
    if f.name == "vendors" and cls is SimConfig:
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError("vendors must be an array of tables ([[vendors]])")
        return tuple(_build(VendorSpec, v, f"vendors[{i}].") for i, v in enumerate(value))
    if isinstance(default, dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
        raise ConfigError(f"{where} must be an offset date-time (e.g. 2025-03-03T00:00:00Z)")
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be an array")
        return tuple(float(v) if isinstance(default[0], float) else v for v in value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if isinstance(default, float) and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if type(value) is not type(default):
        raise ConfigError(f"{where} must be a {type(default).__name__}")
    return value


def to_toml_value(value: object) -> str:
    """Render one value the way default.toml writes it (used by the docs test and the report)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(to_toml_value(v) for v in value) + "]"
    return repr(value)
