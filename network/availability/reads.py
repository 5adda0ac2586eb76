"""The API's availability read in one statement and, on PostgreSQL, one round trip.

`GET /api/v1/availability` is the hub's hottest read (storefronts poll it). `services.read_availability`
answers it in two statements inside the request's transaction: BEGIN, the page of items, their
joined sources, COMMIT (four round trips). Here the page of items and its sources are one
statement, and when the request has no transaction of its own yet (its token check came from the
cache, network/partners/token_cache.py) that statement runs on an autocommit connection: a
single round trip, one consistent snapshot. The figures come from the same formula
(`services.figures`), so they are the ones `read_availability` gives, by construction.

A retailer on the predictive model reads its inputs in a second statement (`predictive.load`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from network.availability.services import ItemAvailability, figures, join_sources, source_columns
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.catalog.skus import normal_sku
from network.stock.models import StockPosition


@contextlib.contextmanager
def reading_connection(session: Session) -> Iterator[sa.Connection]:
    """Where the read runs: the request's transaction if it has one (it may hold the request's own
    writes, and keeps a second connection out of the pool), else, on PostgreSQL, a connection in
    autocommit (no BEGIN or COMMIT round trip: one statement is its own snapshot).

    SQLite always reads through the session: its round trips are function calls, and an in-memory
    database has one connection per thread.
    """
    if isinstance(session, scoped_session):
        session = session()
    bind = session.get_bind()
    if session.in_transaction() or bind.dialect.name != "postgresql":
        yield session.connection()
        return
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


def read_published(
    session: Session,
    *,
    retailer_id: int,
    skus: Sequence[str] | None,
    after_id: int,
    limit: int,
    now: dt.datetime,
) -> list[ItemAvailability]:
    """The availability of a retailer's items (some skus, or a page by id), as the API shows it."""
    params: dict = {"retailer_id": retailer_id, "after_id": after_id, "limit": limit, "now": now}
    if skus:
        params["skus"] = [normal_sku(sku) for sku in skus]
    with reading_connection(session) as connection:
        items: list[tuple] = []
        sources: list[tuple] = []
        for row in connection.execute(_page_query(bool(skus)), params):
            if not items or items[-1][0] != row[0]:
                items.append(row[:4])
            if row[4] is not None:  # the item has this source (an item may have none)
                sources.append((row[0], *row[4:]))
        return figures(connection, items, sources, now)


@functools.cache
def _page_query(by_sku: bool) -> sa.Select:
    """A page of a retailer's items left-joined to their sources, in (item, priority, variant) order."""
    page = sa.select(
        RetailerItem.id, RetailerItem.retailer_id, RetailerItem.retailer_sku, RetailerItem.updated_at
    )
    page = page.where(RetailerItem.retailer_id == sa.bindparam("retailer_id"))
    if by_sku:
        page = page.where(RetailerItem.retailer_sku.in_(sa.bindparam("skus", expanding=True)))
    page = (
        page.where(RetailerItem.id > sa.bindparam("after_id"))
        .order_by(RetailerItem.id)
        .limit(sa.bindparam("limit"))
        .subquery("page")
    )
    # An item's sources are the ones with a variant and a position (the inner joins of
    # services._source_query), so those three join first and the page keeps items without any.
    sourced = sa.join(ItemSource, VendorVariant, VendorVariant.id == ItemSource.variant_id).join(
        StockPosition, StockPosition.variant_id == ItemSource.variant_id
    )
    held, columns = source_columns()
    query = sa.select(
        page.c.id, page.c.retailer_id, page.c.retailer_sku, page.c.updated_at, *columns
    ).select_from(page.outerjoin(sourced, ItemSource.item_id == page.c.id))
    return join_sources(query, held, page.c.retailer_id).order_by(
        page.c.id, ItemSource.priority, ItemSource.variant_id
    )
