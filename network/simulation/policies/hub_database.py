"""A scratch hub database for one simulated run, seeded through the hub's own services.

SQLite in memory by default (one shared connection), or a throwaway schema of a PostgreSQL
database given by URL, dropped afterwards: the simulation never writes into a hub's real data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

import network.models  # noqa: F401  (every table into the metadata)
from network.catalog import mapping_import
from network.catalog import services as catalog
from network.catalog.gtin import gtin_check_digit
from network.catalog.skus import normal_sku
from network.config import normalize_database_url
from network.db import Base, configure_sqlite, transaction
from network.flags import reroute
from network.partners import services as partners
from network.partners.audit import Actor
from network.simulation.world import World


class HubDatabase:
    """An engine and a session on a fresh schema; `close()` disposes of both (and the schema)."""

    def __init__(self, url: str | None = None) -> None:
        self.schema: str | None = None
        self._admin: sa.Engine | None = None
        if url is None or url.startswith("sqlite"):
            self.engine = sa.create_engine("sqlite://", poolclass=StaticPool)
            configure_sqlite(self.engine)
        else:
            url = normalize_database_url(url)
            self.schema = f"sim_{uuid.uuid4().hex[:12]}"
            self._admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            self.engine = sa.create_engine(
                url, connect_args={"options": f"-csearch_path={self.schema}"}, pool_size=1, max_overflow=0
            )
        Base.metadata.create_all(self.engine)
        self.session = Session(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()
        if self._admin is not None and self.schema is not None:
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self._admin.dispose()


@dataclass
class HubIds:
    """How the world's vendors, retailers, SKUs and products are known to the hub."""

    vendors: dict[int, int] = field(default_factory=dict)  # world vendor -> organization id
    retailers: dict[int, int] = field(default_factory=dict)  # world retailer -> organization id
    variants: dict[int, int] = field(default_factory=dict)  # sku id -> vendor variant id
    skus_of_variant: dict[int, int] = field(default_factory=dict)
    items: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)  # (org, sku) -> (r, p)


def _gtin(product: int) -> str:
    body = f"20{product:010d}"  # 2x prefixes are for in-house numbering: never a real product
    return body + str(gtin_check_digit(body))


def seed_network(session: Session, world: World, *, now: dt.datetime, auto_reroute: bool) -> HubIds:
    """Create the world's organizations, connections, variants and items through the services."""
    config = world.config
    ids = HubIds()
    with transaction(session):
        for v in world.vendors:
            spec = config.vendors[v]
            ids.vendors[v] = partners.create_organization(session, kind="vendor", name=spec.name, now=now).id
        for r in range(config.catalog.retailers):
            org = partners.create_organization(session, kind="retailer", name=f"Retailer {r + 1}", now=now)
            reroute.change_settings(
                session, retailer_id=org.id, changes={"auto_reroute": auto_reroute}, actor=Actor(), now=now
            )
            ids.retailers[r] = org.id
            for v in world.vendors:
                partners.connect(
                    session,
                    retailer_id=org.id,
                    vendor_id=ids.vendors[v],
                    stale_after_minutes=config.vendors[v].stale_after_minutes,
                    now=now,
                )
    # Each vendor's catalog as a catalog file is created (insert_variants, with the variants' empty
    # positions), and each retailer's items as a mapping file is applied: the same rows, ids
    # and values as a PUT per variant and per item, in a few statements instead of one flush each.
    for v in world.vendors:
        skus = world.skus_of(v)
        with transaction(session):
            created = catalog.insert_variants(
                session,
                vendor_id=ids.vendors[v],
                rows=[
                    (
                        sku.code,
                        {
                            "title": f"Product {sku.product}",
                            "gtin": _gtin(sku.product),
                            "cost": Decimal(str(round(sku.price * 0.6, 2))),
                            "msrp": Decimal(str(sku.price)),
                        },
                    )
                    for sku in skus
                ],
                now=now,
            )
        for sku in skus:
            ids.variants[sku.id] = created[normal_sku(sku.code)]
            ids.skus_of_variant[ids.variants[sku.id]] = sku.id
    live = {p.id for p in world.live_products()}
    for r, listed in enumerate(world.assortment):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("retailer_sku", "title", "vendor_id", "vendor_sku", "priority"))
        for p in listed:
            if p not in live:
                continue
            product = world.products[p]
            for priority, s in enumerate(product.sources):
                sku = world.skus[s]
                writer.writerow((product.code, f"Product {p}", ids.vendors[sku.vendor], sku.code, priority))
            ids.items[ids.retailers[r], product.code] = (r, p)
        with transaction(session):
            done = mapping_import.apply_mappings(
                session,
                retailer_id=ids.retailers[r],
                data=out.getvalue().encode(),
                filename="simulated items.csv",
                actor=Actor(),
                now=now,
            )
        if done.rows_rejected:
            raise ValueError(f"retailer {r}'s items: {done.rows_rejected} mapping rows refused")
        session.expunge_all()  # keep the identity map small: nothing below reuses these objects
    return ids
