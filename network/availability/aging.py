"""Republishing figures as counts age (issue 18).

On the predictive model a source offers its free units less what outside sales will probably have
taken by the time the vendor imports an order (network/availability/predictive.py), and that grows
with the count's age. A figure is published only when something recomputes it (a count, an order,
a hold), so without this a fast seller's aging count would stay published at what it was worth when
it was fresh. The worker's `republish_aging` job (network/jobs.py) recomputes, every
`AGING_SECONDS`, the items of predictive retailers whose predicted depletion moved since its last
run: of the variants with an estimated outside-sales rate of at least `MIN_RATE_PER_MINUTE` and
free units, those whose depletion quantile over the count's age (plus the import delay) stepped up
between the last run and now; `publish_changes` then publishes the figures that moved. A slow item
(its outside sales will probably take nothing) is never recomputed, nor the rest of the catalog.

Each figure it moves is explained in the stock ledger (reason `aging`, cause `prediction`), on each
predictive source of the item, for the retailer alone: the item's figure before and after, and the
source's `predicted_depletion` with its inputs (units, rate per hour, horizon, probability).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability import predictive
from network.availability.models import PREDICTIVE, AvailabilitySettings, DepletionEstimate
from network.availability.services import CHUNK, ItemAvailability, publish_changes
from network.catalog.models import ItemSource, RetailerItem
from network.partners.models import Connection
from network.stock import ledger
from network.stock.models import StockPosition, StockSnapshot
from network.stock.rules import effective_as_of

# How often the worker recomputes aging figures: a channel shows a figure for at most this long
# (plus its own throttle) after the term moved it.
AGING_SECONDS = 5 * 60
# Below one outside sale a month a source's term stays at 0 over any horizon a fresh enough count
# can have (stale counts count zero), at any risk quantile short of certainty: not worth a read.
MIN_RATE_PER_MINUTE = 1 / (30 * 24 * 60)
AGING = "aging"  # the ledger's reason for a figure moved by its count's age


def aging_items(session: Session, *, now: dt.datetime, since: dt.datetime | None = None) -> list[int]:
    """The items of predictive retailers with a source whose figure can move as its count ages.

    With `since` (the last run), only those whose predicted depletion did move between then and
    `now`: one read of the candidate sources, then the arithmetic, mostly one power per source (a
    source whose outside sales will probably take nothing even now took nothing then either).
    """
    rows = session.execute(
        sa.select(
            ItemSource.item_id,
            RetailerItem.retailer_id,
            ItemSource.variant_id,
            StockPosition.vendor_id,
            StockPosition.quantity,
            StockPosition.committed,
            StockPosition.as_of,
            StockSnapshot.as_of,
            Connection.safety_buffer,
        )
        .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
        .join(AvailabilitySettings, AvailabilitySettings.retailer_id == RetailerItem.retailer_id)
        .join(DepletionEstimate, DepletionEstimate.variant_id == ItemSource.variant_id)
        .join(StockPosition, StockPosition.variant_id == ItemSource.variant_id)
        .outerjoin(StockSnapshot, StockSnapshot.vendor_id == StockPosition.vendor_id)
        .outerjoin(
            Connection,
            sa.and_(
                Connection.retailer_id == RetailerItem.retailer_id,
                Connection.vendor_id == StockPosition.vendor_id,
            ),
        )
        .where(
            AvailabilitySettings.model == PREDICTIVE,
            DepletionEstimate.shape >= MIN_RATE_PER_MINUTE * DepletionEstimate.exposure,
            DepletionEstimate.shape > 0,
            StockPosition.quantity > StockPosition.committed,
        )
        .order_by(ItemSource.item_id)
    ).all()
    if since is None or not rows:
        return sorted({row[0] for row in rows})
    inputs = predictive.load(session, [row[2] for row in rows], [row[1] for row in rows])
    moving: set[int] = set()
    for (
        item_id,
        retailer_id,
        variant_id,
        vendor_id,
        quantity,
        committed,
        as_of,
        snapshot_as_of,
        buffer,
    ) in rows:
        if item_id in moving:
            continue
        as_of = effective_as_of(as_of, snapshot_as_of)
        free = quantity - committed - (buffer or 0)
        if as_of is None or free <= 0:
            continue
        source = {"retailer_id": retailer_id, "variant_id": variant_id, "vendor_id": vendor_id, "free": free}
        now_taken = predictive.predicted_depletion(inputs, **source, as_of=as_of, now=now).units
        if (
            now_taken
            and now_taken
            != predictive.predicted_depletion(inputs, **source, as_of=as_of, now=max(since, as_of)).units
        ):
            moving.add(item_id)
    return sorted(moving)


def batches(item_ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(item_ids), size):
        yield item_ids[start : start + size]


def republish_batch(session: Session, item_ids: list[int], *, now: dt.datetime) -> int:
    """Recompute some items now and publish the figures that moved (each noted in the ledger);
    return how many moved."""
    moved: list[tuple[ItemAvailability, int | None]] = []
    count = publish_changes(session, item_ids, now=now, moved_items=moved)
    for item, previous in moved:
        for source in item.sources:
            term = source.predicted_depletion
            if term is None:
                continue
            ledger.note(
                session,
                variant_ids=[source.vendor_variant_id],
                reason=AGING,
                changes={"item_available": [previous, item.available]},
                ref={
                    "retailer_sku": item.retailer_sku,
                    "predicted_depletion": {
                        "units": term.units,
                        "rate_per_hour": round(term.rate_per_hour, 4),
                        "horizon_minutes": round(term.horizon_minutes, 2),
                        "probability": round(term.probability, 4),
                    },
                },
                at=now,
                retailer_id=item.retailer_id,
            )
    return count
