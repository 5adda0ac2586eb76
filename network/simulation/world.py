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

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from network.simulation import arrivals
from network.simulation.arrivals import CustomerOrder, Export, OutsideSale, Review, stream
from network.simulation.config import SimConfig


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
    orders = arrivals.customer_orders(config, seed, assortment, popularity, per_weight, spiked)
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
        outside=arrivals.outside_sales(config, seed, skus, outside_rates),
        reviews=arrivals.reviews(config, seed, skus),
        exports=arrivals.exports(config, seed),
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
