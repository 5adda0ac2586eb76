"""Availability read models and the publishing of changes (DESIGN §5)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from network import direct
from network.availability import predictive
from network.availability.compute import SourceState, SourceTerms, source_available, source_terms
from network.availability.models import PREDICTIVE, AvailabilitySettings, VariantHold
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.catalog.skus import normal_sku
from network.db import is_postgres
from network.outbox.events import AvailabilityChanged
from network.outbox.services import event_arrays, events_from_arrays, noted, record_many
from network.partners.models import Connection
from network.stock import ledger
from network.stock.models import StockPosition, StockSnapshot
from network.stock.rules import effective_as_of

CHUNK = 5000


@dataclass(frozen=True)
class SourceDetail:
    """What an explanation shows of a source beyond its figure: the formula's input and working."""

    vendor_sku: str
    basis: str
    connection_status: str | None  # None: the retailer has no connection to the vendor
    stale_after_minutes: int
    state: SourceState
    terms: SourceTerms


@dataclass(frozen=True)
class SourceAvailability:
    vendor_variant_id: int
    vendor_id: int
    priority: int
    available: int
    stale: bool
    # On order from the vendor's own supplier: shown ("ships from <eta>"), never sold.
    incoming: int = 0
    incoming_eta: dt.date | None = None
    # Predictive model only: the units taken off for outside sales, with its inputs.
    predicted_depletion: predictive.Depletion | None = None
    # Predictive model, read for a channel with an update interval (read_availability's
    # `channel_minutes`): what outside sales will probably take over that interval besides, the
    # channel's automatic buffer on this source (predictive.channel_depletion); never above `available`.
    channel_depletion: predictive.Depletion | None = None
    # Only when explaining (read_availability(explain=True)): how `available` came about.
    detail: SourceDetail | None = None


@dataclass(frozen=True)
class ItemAvailability:
    item_id: int
    retailer_id: int
    retailer_sku: str
    available: int
    sources: list[SourceAvailability]
    updated_at: dt.datetime

    @property
    def channel_units(self) -> int:
        """A channel's automatic buffer on the item (0 on the fixed model, or read with no interval)."""
        return sum(s.channel_depletion.units for s in self.sources if s.channel_depletion is not None)


def held_variants(now: dt.datetime) -> sa.Subquery:
    """Variants on hold at `now` (network/flags/holds.py), one row each: a held source counts zero."""
    return (
        sa.select(VariantHold.variant_id)
        .where(VariantHold.active_at(now))
        .group_by(VariantHold.variant_id)
        .subquery("held")
    )


def _ids_kind(session: Session, ids: Sequence[int]) -> tuple[str, dict]:
    """How a prebuilt query takes a list of ids (see `_ids_clause`), and the parameter for it."""
    if len(ids) == 1:
        return "one", {"ids": ids[0]}
    return ("array" if is_postgres(session) else "list"), {"ids": list(ids)}


def _ids_clause(column: sa.ColumnElement[int], kind: str) -> sa.ColumnElement[bool]:
    """`column` among `:ids`, for a query built once per kind of id list.

    "one" takes one id (a plan PostgreSQL can prepare once and reuse: the common case), "array"
    one PostgreSQL array, "list" an expanding IN. An IN list of thousands of parameters makes a
    statement that the driver re-parses on every call and the server plans for each length.
    """
    if kind == "one":
        return column == sa.bindparam("ids")
    if kind == "array":
        return column == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(sa.bindparam("ids", expanding=True))


def source_columns() -> tuple[sa.Subquery, tuple[sa.ColumnElement, ...]]:
    """What the formula reads of one source, after its item id (the order `figures` unpacks), and
    the held variants' subquery one of them reads (`join_sources` joins it)."""
    held = held_variants(sa.bindparam("now"))
    return held, (
        ItemSource.variant_id,
        ItemSource.priority,
        VendorVariant.vendor_id,
        VendorVariant.active,
        StockPosition.quantity,
        StockPosition.committed,
        StockPosition.as_of,
        StockPosition.updated_at,
        StockSnapshot.as_of.label("snapshot_as_of"),
        Connection.status,
        Connection.safety_buffer,
        Connection.stale_after_minutes,
        held.c.variant_id.is_not(None).label("on_hold"),
        StockPosition.incoming,
        StockPosition.incoming_eta,
        StockPosition.basis,
        VendorVariant.vendor_sku,
        AvailabilitySettings.model,
    )


def join_sources(query: sa.Select, held: sa.Subquery, retailer_id: sa.ColumnElement[int]) -> sa.Select:
    """Join what `source_columns` reads to a query already joined to ItemSource, VendorVariant and
    StockPosition, for the retailer at `retailer_id`."""
    return (
        query.outerjoin(StockSnapshot, StockSnapshot.vendor_id == VendorVariant.vendor_id)
        .outerjoin(held, held.c.variant_id == ItemSource.variant_id)
        .outerjoin(AvailabilitySettings, AvailabilitySettings.retailer_id == retailer_id)
        .outerjoin(
            Connection,
            sa.and_(Connection.retailer_id == retailer_id, Connection.vendor_id == VendorVariant.vendor_id),
        )
    )


@functools.cache
def _source_query(kind: str) -> sa.Select:
    """The joined source rows of the items at `:ids` (see `_ids_clause`) at `:now`."""
    held, columns = source_columns()
    query = (
        sa.select(ItemSource.item_id, *columns)
        .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
        .join(VendorVariant, VendorVariant.id == ItemSource.variant_id)
        .join(StockPosition, StockPosition.variant_id == ItemSource.variant_id)
    )
    return (
        join_sources(query, held, RetailerItem.retailer_id)
        .where(_ids_clause(ItemSource.item_id, kind))
        .order_by(ItemSource.item_id, ItemSource.priority, ItemSource.variant_id)
    )


def _source_rows(session: Session, item_ids: Sequence[int], now: dt.datetime) -> sa.CursorResult:
    """Run the source query for some items as Core rows (no ORM row per source)."""
    kind, params = _ids_kind(session, item_ids)
    return session.connection().execute(_source_query(kind), {**params, "now": now})


def source_state(row: sa.Row) -> SourceState:
    """Build the formula's input from a joined source row."""
    return _state(
        row.quantity,
        row.committed,
        row.safety_buffer,
        row.status,
        row.active,
        row.as_of,
        row.snapshot_as_of,
        row.stale_after_minutes,
        row.on_hold,
    )


def _state(
    quantity: int,
    committed: int,
    safety_buffer: int | None,
    status: str | None,
    variant_active: bool,
    as_of: dt.datetime | None,
    snapshot_as_of: dt.datetime | None,
    stale_after_minutes: int | None,
    on_hold: bool = False,
) -> SourceState:
    return SourceState(
        quantity=quantity,
        committed=committed,
        safety_buffer=safety_buffer or 0,
        connection_active=status == "active",
        variant_active=variant_active,
        as_of=effective_as_of(as_of, snapshot_as_of),
        stale_after=_minutes(stale_after_minutes or 0),
        on_hold=bool(on_hold),
    )


@functools.lru_cache(maxsize=256)
def _minutes(minutes: int) -> dt.timedelta:
    return dt.timedelta(minutes=minutes)


def _compute(
    session: Session,
    items: Iterable[tuple[int, int, str, dt.datetime]],
    now: dt.datetime,
    *,
    explain: bool = False,
    channel_minutes: float = 0.0,
    sources: Iterable[sa.Row] | None = None,
) -> list[ItemAvailability]:
    """The figures of some items, published or read; with `explain`, each source's working too;
    with `channel_minutes`, each predictive source's automatic channel buffer over that interval;
    `sources`: the items' source rows if the caller has read them (`source_query`).

    Explaining goes through this very loop (only keeping what it already computed), so an
    explanation's figure is the published one by construction.
    """
    items = list(items)
    # Its callers have just queried through the session, so nothing is left to autoflush.
    rows = _source_rows(session, [i[0] for i in items], now) if sources is None else sources
    return figures(session, items, rows, now, explain=explain, channel_minutes=channel_minutes)


def figures(
    bind: Session | sa.Connection,
    items: Sequence[tuple[int, int, str, dt.datetime]],
    source_rows: Iterable[Sequence],
    now: dt.datetime,
    *,
    explain: bool = False,
    channel_minutes: float = 0.0,
) -> list[ItemAvailability]:
    """The figures of `items` (id, retailer id, sku, updated_at) from their joined source rows
    (`source_columns()`, ordered by item, priority, variant); `bind` reads the predictive inputs."""
    by_item: dict[int, list[Sequence]] = defaultdict(list)
    predicting = []
    for row in source_rows:
        by_item[row[0]].append(row)
        if row[-1] == PREDICTIVE:
            predicting.append(row)
    # Retailers on the predictive model take off what outside sales will probably have taken.
    inputs = (
        predictive.load(bind, [row[1] for row in predicting], [i[1] for i in items]) if predicting else None
    )
    result = []
    for item_id, retailer_id, sku, item_updated in items:
        sources = []
        updated = item_updated
        for (
            _,
            variant_id,
            priority,
            vendor_id,
            active,
            quantity,
            committed,
            as_of,
            position_updated,
            snapshot_as_of,
            status,
            safety_buffer,
            stale_after_minutes,
            on_hold,
            incoming,
            incoming_eta,
            basis,
            vendor_sku,
            model,
        ) in by_item.get(item_id, ()):
            state = _state(
                quantity,
                committed,
                safety_buffer,
                status,
                active,
                as_of,
                snapshot_as_of,
                stale_after_minutes,
                on_hold,
            )
            depleted = channel = None
            if model == PREDICTIVE and inputs is not None and source_available(state, now) > 0:
                free = quantity - committed - state.safety_buffer
                depleted = predictive.predicted_depletion(
                    inputs,
                    retailer_id=retailer_id,
                    variant_id=variant_id,
                    vendor_id=vendor_id,
                    free=free,
                    as_of=state.as_of,
                    now=now,
                )
                state = dataclasses.replace(state, predicted_depletion=depleted.units)
                if channel_minutes > 0:
                    channel = predictive.channel_depletion(
                        inputs,
                        retailer_id=retailer_id,
                        variant_id=variant_id,
                        vendor_id=vendor_id,
                        free=free,
                        as_of=state.as_of,
                        now=now,
                        interval_minutes=channel_minutes,
                    )
            terms = source_terms(state, now)
            detail = None
            if explain:
                detail = SourceDetail(
                    vendor_sku=vendor_sku,
                    basis=basis,
                    connection_status=status,
                    stale_after_minutes=stale_after_minutes or 0,
                    state=state,
                    terms=terms,
                )
            sources.append(
                SourceAvailability(
                    vendor_variant_id=variant_id,
                    vendor_id=vendor_id,
                    priority=priority,
                    available=terms.available,
                    stale=terms.stale,
                    incoming=incoming,
                    incoming_eta=incoming_eta,
                    predicted_depletion=depleted,
                    channel_depletion=channel if channel is not None and terms.available > 0 else None,
                    detail=detail,
                )
            )
            if position_updated > updated:
                updated = position_updated
        result.append(
            ItemAvailability(
                item_id=item_id,
                retailer_id=retailer_id,
                retailer_sku=sku,
                available=sum(s.available for s in sources),
                sources=sources,
                updated_at=updated,
            )
        )
    return result


_ITEM_COLUMNS = (
    RetailerItem.id,
    RetailerItem.retailer_id,
    RetailerItem.retailer_sku,
    RetailerItem.updated_at,
)


def read_availability(
    session: Session,
    *,
    retailer_id: int,
    skus: Sequence[str] | None,
    after_id: int,
    limit: int,
    now: dt.datetime,
    explain: bool = False,
    channel_minutes: float = 0.0,
) -> list[ItemAvailability]:
    """Return the availability of a retailer's items (some skus, or a page by id).

    `explain` adds each source's working (SourceAvailability.detail); the figures are the same.
    `channel_minutes` adds, on the predictive model, each source's automatic buffer for a channel
    corrected that often (SourceAvailability.channel_depletion, ItemAvailability.channel_units).
    """
    params = {"retailer_id": retailer_id, "after_id": after_id, "limit": limit}
    if skus:
        params["skus"] = [normal_sku(sku) for sku in skus]
    return _compute(
        session,
        session.execute(_items_query(bool(skus)), params).all(),
        now,
        explain=explain,
        channel_minutes=channel_minutes,
    )


def hold_ends(session: Session, variant_ids: Sequence[int], now: dt.datetime) -> dict[int, dt.datetime]:
    """When the holds on some variants run out at the latest (network/flags/holds.py), by variant.

    Only the date: a hold's reason may be another retailer's refused line.
    """
    if not variant_ids:
        return {}
    rows = session.execute(
        sa.select(VariantHold.variant_id, sa.func.max(VariantHold.until))
        .where(VariantHold.variant_id.in_(variant_ids), VariantHold.active_at(now))
        .group_by(VariantHold.variant_id)
    )
    return {variant_id: until for variant_id, until in rows}


@functools.cache
def _items_query(by_sku: bool) -> sa.Select:
    """A page of a retailer's items, built once (this runs on every availability read)."""
    query = sa.select(*_ITEM_COLUMNS).where(RetailerItem.retailer_id == sa.bindparam("retailer_id"))
    if by_sku:
        query = query.where(RetailerItem.retailer_sku.in_(sa.bindparam("skus", expanding=True)))
    return (
        query.where(RetailerItem.id > sa.bindparam("after_id"))
        .order_by(RetailerItem.id)
        .limit(sa.bindparam("limit"))
    )


def items_sourcing(session: Session, variant_ids: Sequence[int]) -> list[int]:
    """Return the ids of every retailer item that one of the variants can fulfil."""
    ids: set[int] = set()
    for start in range(0, len(variant_ids), CHUNK):
        chunk = variant_ids[start : start + CHUNK]
        kind, params = _ids_kind(session, chunk)
        ids.update(session.scalars(_items_sourcing_query(kind), params))
    return sorted(ids)


@functools.cache
def _items_sourcing_query(kind: str) -> sa.Select:
    return sa.select(ItemSource.item_id).where(_ids_clause(ItemSource.variant_id, kind))


def items_of_vendor(session: Session, vendor_id: int) -> list[int]:
    return sorted(
        session.scalars(
            sa.select(ItemSource.item_id)
            .join(VendorVariant, VendorVariant.id == ItemSource.variant_id)
            .where(VendorVariant.vendor_id == vendor_id)
            .distinct()
        )
    )


def items_of_connection(session: Session, *, retailer_id: int, vendor_id: int) -> list[int]:
    """Return the retailer's items that a vendor's variants can fulfil."""
    return sorted(
        session.scalars(
            sa.select(ItemSource.item_id)
            .join(VendorVariant, VendorVariant.id == ItemSource.variant_id)
            .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
            .where(VendorVariant.vendor_id == vendor_id, RetailerItem.retailer_id == retailer_id)
            .distinct()
        )
    )


def variants_of_connection(session: Session, *, retailer_id: int, vendor_id: int) -> list[int]:
    """Return the vendor's variants that source some item of the retailer."""
    return sorted(
        session.scalars(
            sa.select(ItemSource.variant_id)
            .join(VendorVariant, VendorVariant.id == ItemSource.variant_id)
            .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
            .where(VendorVariant.vendor_id == vendor_id, RetailerItem.retailer_id == retailer_id)
            .distinct()
        )
    )


def note_connection_change(
    session: Session,
    *,
    retailer_id: int,
    vendor_id: int,
    connection_id: int,
    reason: str,
    changes: dict,
    now: dt.datetime,
) -> None:
    """Write the ledger entry of a change that moves what one retailer sees of a vendor's variants
    (staleness, its safety buffer, the connection's status), on each variant it sources."""
    ledger.note(
        session,
        variant_ids=variants_of_connection(session, retailer_id=retailer_id, vendor_id=vendor_id),
        reason=reason,
        changes=changes,
        ref={"connection_id": connection_id},
        at=now,
        retailer_id=retailer_id,
    )


def publish_changes(
    session: Session,
    item_ids: Sequence[int],
    *,
    now: dt.datetime,
    moved_items: list[tuple[ItemAvailability, int | None]] | None = None,
) -> int:
    """Recompute the items' availability and publish each figure that moved; return how many moved.
    `moved_items` collects those that moved, with the figure published before.

    Items are locked in id order so that concurrent writers publish their figures one after the
    other, each seeing the last: a retailer is never sent an outdated figure after a newer one.
    """
    moved = 0
    for start in range(0, len(item_ids), CHUNK):
        chunk = list(item_ids[start : start + CHUNK])
        kind, params = _ids_kind(session, chunk)
        rows = session.execute(_lock_items_query(kind, is_postgres(session)), params).all()
        moved += publish_locked(session, rows, now=now, moved_items=moved_items)
    return moved


def publish_locked(
    session: Session,
    rows: Sequence[tuple],
    *,
    now: dt.datetime,
    sources: Iterable[sa.Row] | None = None,
    moved_items: list[tuple[ItemAvailability, int | None]] | None = None,
) -> int:
    """`publish_changes` for items the caller has already locked in id order: `rows` are their
    (id, retailer_id, retailer_sku, updated_at, published_available) read with the lock, `sources`
    their `source_query()` rows read after it (None: read here). Returns how many moved.

    The sources must be read after the lock, in a later statement: one whose snapshot predates
    the lock could miss a change another writer published while this one waited for it.
    """
    published = {row[0]: row[4] for row in rows}
    updates, events = [], []
    for item in _compute(session, [tuple(row[:4]) for row in rows], now, sources=sources):
        previous = published[item.item_id]
        if previous == item.available:
            continue
        updates.append((item.item_id, item.available))
        if moved_items is not None:
            moved_items.append((item, previous))
        events.append(
            (
                item.retailer_id,
                item.retailer_sku,
                AvailabilityChanged(
                    retailer_sku=item.retailer_sku,
                    available=item.available,
                    previous=previous,
                    updated_at=now.isoformat(),
                ),
            )
        )
    if updates:
        _set_published(session, updates, events, now)
    return len(updates)


def source_query() -> sa.Select:
    """The joined source rows of the items at `:ids` (a PostgreSQL array) at `:now`, in the order
    `publish_locked` takes them: for a caller that reads them along with a statement of its own."""
    return _source_query("array")


@functools.cache
def _lock_items_query(kind: str, for_update: bool) -> sa.Select:
    """The items at `:ids` (see `_ids_clause`) with their last published figure; locked in id order."""
    query = sa.select(*_ITEM_COLUMNS, RetailerItem.published_available).where(
        _ids_clause(RetailerItem.id, kind)
    )
    return query.order_by(RetailerItem.id).with_for_update() if for_update else query


_ITEMS = RetailerItem.__table__


def _set_published(
    session: Session, figures: Sequence[tuple[int, int]], events: list, now: dt.datetime
) -> None:
    """Store the figures just published, (item id, available) pairs, and record their events: one
    statement on PostgreSQL."""
    if is_postgres(session):
        ids, values = zip(*figures, strict=True)
        params = {"pub_id": list(ids), "pub_available": list(values), **event_arrays(events, now)}
        direct.run(session, _publish_statement(), params)
        noted(session)
        return
    session.execute(
        _ITEMS.update()
        .where(_ITEMS.c.id == sa.bindparam("id_"))
        .values(published_available=sa.bindparam("available_")),
        [{"id_": item_id, "available_": available} for item_id, available in figures],
    )
    record_many(session, events, now=now)


@functools.cache
def _publish_statement() -> direct.Direct:
    """PostgreSQL: the figures at `:pub_id`/`:pub_available` (arrays) stored, and their events
    (`event_arrays`) recorded, in one statement built once and sent through the driver."""
    rows = (
        sa.func.unnest(
            sa.bindparam("pub_id", type_=postgresql.ARRAY(sa.Integer)),
            sa.bindparam("pub_available", type_=postgresql.ARRAY(sa.Integer)),
        )
        .table_valued("id", "available")
        .render_derived(name="v")
    )
    update = _ITEMS.update().where(_ITEMS.c.id == rows.c.id).values(published_available=rows.c.available)
    return direct.Direct(events_from_arrays().add_cte(update.cte("published")))


def items_turning_stale(session: Session, *, since: dt.datetime, now: dt.datetime) -> list[int]:
    """Return items with a source that was fresh at `since` and is stale at `now`.

    Stale means older than the connection's limit, strictly (compute.is_stale): a count exactly
    at the limit at `since` still counted then, so it turns stale in this window. Back-to-back
    windows therefore see every source go stale exactly once, even when a sweep falls on the
    very instant a count reaches its limit.
    """
    effective = sa.case(
        (StockSnapshot.as_of.is_(None), StockPosition.as_of),
        (StockPosition.as_of.is_(None), StockSnapshot.as_of),
        (StockPosition.as_of > StockSnapshot.as_of, StockPosition.as_of),
        else_=StockSnapshot.as_of,
    )
    ids: set[int] = set()
    for conn in session.execute(
        sa.select(Connection.retailer_id, Connection.vendor_id, Connection.stale_after_minutes).where(
            Connection.status == "active"
        )
    ):
        limit = dt.timedelta(minutes=conn.stale_after_minutes)
        ids.update(
            session.scalars(
                sa.select(ItemSource.item_id)
                .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
                .join(StockPosition, StockPosition.variant_id == ItemSource.variant_id)
                .outerjoin(StockSnapshot, StockSnapshot.vendor_id == StockPosition.vendor_id)
                .where(
                    RetailerItem.retailer_id == conn.retailer_id,
                    StockPosition.vendor_id == conn.vendor_id,
                    effective >= since - limit,
                    effective < now - limit,
                )
            )
        )
    return sorted(ids)
