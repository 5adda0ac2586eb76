"""Republishing figures as counts age (issue 18).

On the predictive model a source offers its free units less what outside sales will probably have
taken by the time the vendor imports an order (network/availability/predictive.py), and that grows
with the count's age. A figure is published only when something recomputes it (a count, an order,
a hold), so without this a fast seller's aging count would stay published at what it was worth when
it was fresh. The worker's `republish_aging` job (network/jobs.py) recomputes, every
`AGING_SECONDS`, the items of predictive retailers whose sources can move: variants with an
estimated outside-sales rate of at least `MIN_RATE_PER_MINUTE` and free units; `publish_changes`
then publishes only the figures that moved. A slow item (no sales, or fewer than one a month) is
never read, and the rest of the catalog neither.

Each figure it moves is explained in the stock ledger (reason `aging`, cause `prediction`), on each
predictive source of the item, for the retailer alone: the item's figure before and after, and the
source's `predicted_depletion` with its inputs (units, rate per hour, horizon, probability).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.models import PREDICTIVE, AvailabilitySettings, DepletionEstimate
from network.availability.services import CHUNK, ItemAvailability, publish_changes
from network.catalog.models import ItemSource, RetailerItem
from network.stock import ledger
from network.stock.models import StockPosition

# How often the worker recomputes aging figures: a channel shows a figure for at most this long
# (plus its own throttle) after the term moved it.
AGING_SECONDS = 5 * 60
# Below one outside sale a month a source's term stays at 0 over any horizon a fresh enough count
# can have (stale counts count zero), at any risk quantile short of certainty: not worth a read.
MIN_RATE_PER_MINUTE = 1 / (30 * 24 * 60)
AGING = "aging"  # the ledger's reason for a figure moved by its count's age


def aging_items(session: Session) -> list[int]:
    """The items of predictive retailers with a source whose figure can move as its count ages."""
    return list(
        session.scalars(
            sa.select(ItemSource.item_id)
            .join(RetailerItem, RetailerItem.id == ItemSource.item_id)
            .join(AvailabilitySettings, AvailabilitySettings.retailer_id == RetailerItem.retailer_id)
            .join(DepletionEstimate, DepletionEstimate.variant_id == ItemSource.variant_id)
            .join(StockPosition, StockPosition.variant_id == ItemSource.variant_id)
            .where(
                AvailabilitySettings.model == PREDICTIVE,
                DepletionEstimate.shape >= MIN_RATE_PER_MINUTE * DepletionEstimate.exposure,
                DepletionEstimate.shape > 0,
                StockPosition.quantity > StockPosition.committed,
            )
            .distinct()
            .order_by(ItemSource.item_id)
        )
    )


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
