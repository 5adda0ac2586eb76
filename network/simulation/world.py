"""The simulated world: catalog, starting stock and every exogenous event, drawn once per seed.

Nothing here depends on a policy. Each source of randomness has its own `random.Random`
stream, seeded from the run seed and the source's name (one per item and channel for customer
demand, one per vendor SKU for its outside sales and its restock reviews, one per vendor for its
exports), so every policy sees the very same customers, outside sales, restock lead times,
return decisions and export failures (common random numbers), and changing one part of the
world leaves the others' draws untouched. The engine (engine.py) replays these events against
the vendors' true stock and a policy.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from network.simulation.config import DELTA, SimConfig

DAY = 1440.0


def stream(seed: int, *name: object) -> random.Random:
    """Return the random stream of one named source, the same for a given seed on every run."""
    digest = hashlib.sha256(f"{seed}/{'/'.join(map(str, name))}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True, slots=True)
class Sku:
    id: int
    vendor: int
    code: str
    product: int
    price: float


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    code: str
    sources: tuple[int, ...]  # sku ids, preferred first
    price: float


@dataclass(frozen=True, slots=True)
class CustomerOrder:
    """One customer wanting `quantity` units of a product on one channel of one retailer.

    What happens afterwards is drawn now, so that it is the same under every policy: whether
    the shipped units come back, when, and how many of them are damaged.
    """

    at: float
    ref: str
    retailer: int
    channel: int
    product: int
    quantity: int
    returned: bool
    request_after: float
    transit: float
    inspection: float
    damaged_units: int


@dataclass(frozen=True, slots=True)
class OutsideSale:
    at: float
    sku: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Review:
    at: float
    sku: int
    lead: float  # minutes until what the vendor orders now arrives


@dataclass(frozen=True, slots=True)
class Export:
    """A vendor's export tick: full or delta; broken (keeps a share of rows) or silent (no new file)."""

    at: float
    vendor: int
    full: bool
    keep: float | None = None  # a broken full export keeps only this share of its rows
    silent: bool = False


@dataclass
class World:
    config: SimConfig
    seed: int
    vendors: tuple[int, ...]
    skus: list[Sku]
    products: list[Product]
    assortment: list[list[int]]  # per retailer, the products it lists
    initial_stock: dict[int, int]
    order_up_to: dict[int, int]
    orders: list[CustomerOrder]
    outside: list[OutsideSale]
    reviews: list[Review]
    exports: list[Export]
    spiked: list[int] = field(default_factory=list)

    def skus_of(self, vendor: int) -> list[Sku]:
        return [sku for sku in self.skus if sku.vendor == vendor]

    def components(self) -> list[tuple[int, ...]]:
        """Return groups of vendors that share no product with another group (independent parts)."""
        parent = {v: v for v in self.vendors}

        def find(v: int) -> int:
            while parent[v] != v:
                v = parent[v]
            return v

        for product in self.products:
            first = find(self.skus[product.sources[0]].vendor)
            for sku in product.sources[1:]:
                parent[find(self.skus[sku].vendor)] = first
        groups: dict[int, list[int]] = defaultdict(list)
        for v in self.vendors:
            groups[find(v)].append(v)
        return sorted(tuple(g) for g in groups.values())

    def restrict(self, vendors: Iterable[int]) -> World:
        """Return the part of the world that only these vendors serve (a union of components)."""
        keep = set(vendors)
        products = {p.id for p in self.products if all(self.skus[s].vendor in keep for s in p.sources)}
        skus = {s.id for s in self.skus if s.vendor in keep}
        return World(
            config=self.config,
            seed=self.seed,
            vendors=tuple(v for v in self.vendors if v in keep),
            skus=self.skus,
            products=self.products,
            assortment=[[p for p in listed if p in products] for listed in self.assortment],
            initial_stock={s: q for s, q in self.initial_stock.items() if s in skus},
            order_up_to={s: q for s, q in self.order_up_to.items() if s in skus},
            orders=[o for o in self.orders if o.product in products],
            outside=[o for o in self.outside if o.sku in skus],
            reviews=[r for r in self.reviews if r.sku in skus],
            exports=[e for e in self.exports if e.vendor in keep],
            spiked=[p for p in self.spiked if p in products],
        )

    def live_skus(self) -> list[Sku]:
        """The SKUs of this (possibly restricted) world's vendors."""
        keep = set(self.vendors)
        return [s for s in self.skus if s.vendor in keep]

    def live_products(self) -> list[Product]:
        keep = set(self.vendors)
        return [p for p in self.products if all(self.skus[s].vendor in keep for s in p.sources)]


def build_world(config: SimConfig, seed: int) -> World:
    """Draw the whole world for one seed."""
    skus, products = _catalog(config, seed)
    assortment = [
        sorted(
            p.id
            for p in products
            if stream(seed, "assortment", r, p.id).random() < config.catalog.assortment_share
        )
        for r in range(config.catalog.retailers)
    ]
    popularity = [
        stream(seed, "popularity", p.id).lognormvariate(0.0, config.demand.popularity_sigma) for p in products
    ]
    listed_weight = sum(popularity[p] for listed in assortment for p in listed) or 1.0
    per_weight = config.demand.orders_per_day / listed_weight  # orders/day per unit of popularity
    spiked = _spiked(config, seed, assortment)
    orders = _customer_orders(config, seed, products, assortment, popularity, per_weight, spiked)
    # Stock each vendor SKU for its expected demand: hub orders (split over the product's sources)
    # and the vendor's outside sales, which follow the product's popularity everywhere it is sold.
    mean_quantity = sum((i + 1) * w for i, w in enumerate(config.demand.quantity_weights)) / sum(
        config.demand.quantity_weights
    )
    all_weight = sum(popularity) or 1.0
    outside_per_weight = config.vendor_stock.outside_ratio * config.demand.orders_per_day / all_weight
    listings = defaultdict(int)
    for listed in assortment:
        for p in listed:
            listings[p] += 1
    stock = config.vendor_stock
    mean_lead = sum(stock.lead_days) / 2
    initial, order_up_to, outside_rates = {}, {}, {}
    for sku in skus:
        product = products[sku.product]
        share = 1 / len(product.sources)
        hub_rate = per_weight * popularity[product.id] * listings[product.id] * share
        outside_rates[sku.id] = outside_per_weight * popularity[product.id] * share
        daily_units = (hub_rate + outside_rates[sku.id]) * mean_quantity
        level = max(
            stock.min_order_up_to,
            math.ceil(daily_units * (stock.review_days + mean_lead) * stock.safety_factor),
        )
        order_up_to[sku.id] = level
        # A periodic-review vendor is somewhere in its cycle when the simulation starts.
        into_cycle = stream(seed, "initial", sku.id).uniform(0, stock.review_days)
        initial[sku.id] = max(0, level - round(daily_units * into_cycle))
    return World(
        config=config,
        seed=seed,
        vendors=tuple(range(len(config.vendors))),
        skus=skus,
        products=products,
        assortment=assortment,
        initial_stock=initial,
        order_up_to=order_up_to,
        orders=orders,
        outside=_outside_sales(config, seed, skus, outside_rates),
        reviews=_reviews(config, seed, skus),
        exports=_exports(config, seed),
        spiked=spiked,
    )


def _catalog(config: SimConfig, seed: int) -> tuple[list[Sku], list[Product]]:
    """Vendor SKUs and the products they are; twins (one product, two vendors) pair up vendors.

    Vendors pair as (0, 1), (2, 3), …; with an odd count the last one also pairs with the one
    before it. Twins link no more vendors than that, so the world splits into independent parts
    (components) that can run side by side.
    """
    n = config.catalog.skus_per_vendor
    vendors = len(config.vendors)
    twins = int(config.catalog.second_source_share * n) if vendors > 1 else 0
    partner_of: dict[int, int] = {}
    for v in range(0, vendors - 1, 2):
        partner_of[v] = v + 1
    if vendors % 2 and vendors > 1:
        partner_of[vendors - 1] = vendors - 2
    twin_of: dict[tuple[int, int], tuple[int, int]] = {}  # (vendor, index) -> its twin at the partner
    used: set[tuple[int, int]] = set()
    for v in sorted(partner_of):
        partner = partner_of[v]
        for i in range(twins):
            # The partner's top indices, or (already twinned from its other side) its bottom ones.
            for twin in ((partner, n - 1 - i), (partner, i)):
                if (v, i) not in used and twin not in used:
                    twin_of[v, i] = twin
                    used |= {(v, i), twin}
                    break
    prices = {}
    owner: dict[tuple[int, int], int] = {}  # (vendor, index) -> product id
    products_sources: list[list[tuple[int, int]]] = []
    for v in range(vendors):
        for i in range(n):
            if (v, i) in used and (v, i) not in twin_of:
                continue  # a twin: the product is made with its primary
            pid = len(products_sources)
            sources = [(v, i), twin_of[v, i]] if (v, i) in twin_of else [(v, i)]
            for source in sources:
                owner[source] = pid
            products_sources.append(sources)
            prices[pid] = round(
                stream(seed, "price", pid).lognormvariate(
                    math.log(config.catalog.price_median), config.catalog.price_sigma
                ),
                2,
            )
    skus = [
        Sku(id=v * n + i, vendor=v, code=f"V{v}-{i:05d}", product=owner[v, i], price=prices[owner[v, i]])
        for v in range(vendors)
        for i in range(n)
    ]
    products = [
        Product(id=pid, code=f"P{pid:05d}", sources=tuple(v * n + i for v, i in sources), price=prices[pid])
        for pid, sources in enumerate(products_sources)
    ]
    return skus, products


def _spiked(config: SimConfig, seed: int, assortment: list[list[int]]) -> list[int]:
    if not config.demand.spike_day or config.demand.spike_day > config.days:
        return []
    listed = sorted({p for listed in assortment for p in listed})
    rng = stream(seed, "spike")
    return sorted(rng.sample(listed, min(config.demand.spike_products, len(listed))))


def _customer_orders(
    config: SimConfig,
    seed: int,
    products: list,
    assortment: list[list[int]],
    popularity: list[float],
    per_weight: float,
    spiked: list[int],
) -> list[CustomerOrder]:
    demand = config.demand
    profile = _normalized(demand.hourly_profile)
    peak = max(profile)
    horizon = config.minutes
    spike_from = (demand.spike_day - 1) * DAY
    orders = []
    for r, listed in enumerate(assortment):
        for p in listed:
            for c, share in enumerate(demand.channel_shares):
                daily = per_weight * popularity[p] * share
                if daily <= 0:
                    continue
                rng = stream(seed, "demand", r, p, c)
                orders += _arrivals(rng, daily, profile, peak, 0.0, horizon, config, (r, c, p, "d"))
                if p in spiked:
                    extra = daily * (demand.spike_factor - 1)
                    rng = stream(seed, "spike-demand", r, p, c)
                    orders += _arrivals(
                        rng, extra, profile, peak, spike_from, spike_from + DAY, config, (r, c, p, "s")
                    )
    orders.sort(key=lambda o: (o.at, o.ref))
    return orders


def _arrivals(
    rng: random.Random,
    daily: float,
    profile: tuple[float, ...],
    peak: float,
    start: float,
    end: float,
    config: SimConfig,
    tag: tuple,
) -> list[CustomerOrder]:
    """Poisson arrivals with the hourly profile (thinning), each with its own future drawn."""
    rate = daily * peak / DAY  # per minute, at the busiest hour
    weights = config.demand.quantity_weights
    ret = config.returns
    result = []
    t = start
    n = 0
    r, c, p, kind = tag
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return result
        accept = rng.random() < profile[int(t // 60) % 24] / peak
        quantity = rng.choices(range(1, len(weights) + 1), weights)[0]
        returned = rng.random() < ret.rate
        request = rng.uniform(*ret.request_days) * DAY
        transit = rng.uniform(*ret.transit_days) * DAY
        inspection = rng.uniform(*ret.inspection_days) * DAY
        damaged = sum(rng.random() < ret.damaged_share for _ in range(quantity))
        if accept:
            n += 1
            result.append(
                CustomerOrder(
                    at=t,
                    ref=f"{kind}{r}-{c}-{p}-{n}",
                    retailer=r,
                    channel=c,
                    product=p,
                    quantity=quantity,
                    returned=returned,
                    request_after=request,
                    transit=transit,
                    inspection=inspection,
                    damaged_units=damaged,
                )
            )


def _outside_sales(
    config: SimConfig, seed: int, skus: list[Sku], rates: dict[int, float]
) -> list[OutsideSale]:
    profile = config.demand.hourly_profile
    peak = max(profile)
    weights = config.demand.quantity_weights
    sales = []
    for sku in skus:
        daily = rates[sku.id]
        if daily <= 0:
            continue
        rng = stream(seed, "outside", sku.id)
        rate = daily * peak / DAY
        t = 0.0
        while True:
            t += rng.expovariate(rate)
            if t >= config.minutes:
                break
            accept = rng.random() < profile[int(t // 60) % 24] / peak
            quantity = rng.choices(range(1, len(weights) + 1), weights)[0]
            if accept:
                sales.append(OutsideSale(t, sku.id, quantity))
    sales.sort(key=lambda s: (s.at, s.sku))
    return sales


def _reviews(config: SimConfig, seed: int, skus: list[Sku]) -> list[Review]:
    stock = config.vendor_stock
    every = stock.review_days * DAY
    reviews = []
    for sku in skus:
        rng = stream(seed, "restock", sku.id)
        t = rng.uniform(0, every)
        while t < config.minutes:
            reviews.append(Review(t, sku.id, rng.uniform(*stock.lead_days) * DAY))
            t += every
    reviews.sort(key=lambda r: (r.at, r.sku))
    return reviews


def _exports(config: SimConfig, seed: int) -> list[Export]:
    """Every vendor exports at t=0, then on its cadence; some exports break, some periods go silent."""
    exports = []
    for v, spec in enumerate(config.vendors):
        rng = stream(seed, "exports", v)
        phase = rng.uniform(0, spec.feed_minutes)
        if spec.feed_offset_minutes is not None:
            phase = spec.feed_offset_minutes or spec.feed_minutes  # t=0 already has its export
        silences = []
        for _ in range(_poisson(rng, spec.silent_per_month * config.days / 30)):
            begin = rng.uniform(0, config.minutes)
            silences.append((begin, begin + rng.uniform(*spec.silent_hours) * 60))
        fulls = config.minutes / (spec.full_every_minutes if spec.mode == DELTA else spec.feed_minutes)
        p_broken = min(1.0, spec.broken_per_month * config.days / 30 / max(fulls, 1))
        exports.append(Export(0.0, v, True))
        t = phase
        last_full = 0.0
        while t < config.minutes:
            full = spec.mode != DELTA or t - last_full >= spec.full_every_minutes
            broken = rng.random() < p_broken
            keep = rng.uniform(*spec.broken_keep)
            silent = any(begin <= t < end for begin, end in silences)
            if full:
                last_full = t
            exports.append(Export(t, v, full, keep if (full and broken and not silent) else None, silent))
            t += spec.feed_minutes
    exports.sort(key=lambda e: (e.at, e.vendor))
    return exports


def _normalized(profile: tuple[float, ...]) -> tuple[float, ...]:
    mean = sum(profile) / len(profile)
    return tuple(x / mean for x in profile)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means here are small."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
