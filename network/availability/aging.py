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

A throttled channel whose buffer is automatic holds back the quantile over the count's age plus its
interval, which can step while the hub's figure stays: no event then reaches the channel. The same
run finds those items per interval (`aging_moves`' `channels`) and owes them to the predictive
retailers' automatic throttled endpoints (`owe_channels`), whose next coalesced push reads them,
and to their automatic connectors (network/connectors/sync.py owe_aging), whose next sync does.

Each figure it moves is explained in the stock ledger (reason `aging`, cause `prediction`), on each
predictive source of the item, for the retailer alone: the item's figure before and after, and the
source's `predicted_depletion` with its inputs (units, rate per hour, horizon, probability).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability import predictive
from network.availability.models import PREDICTIVE, AvailabilitySettings, DepletionEstimate
from network.availability.services import CHUNK, ItemAvailability, publish_changes
from network.catalog.models import ItemSource, RetailerItem
from network.outbox.events import AvailabilityChanged
from network.outbox.fanout import touch_pending
from network.outbox.models import WebhookEndpoint
from network.outbox.rules import channel_interval_minutes, subscribes
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


@dataclass(frozen=True)
class Moves:
    """What one run of the aging job found moved since the last one."""

    # Items whose hub figure moved: republished (their event reaches every channel).
    items: list[int]
    # (retailer, channel interval in minutes) -> the SKUs whose automatic channel term alone moved:
    # the hub's figure stayed, but a channel of that interval is owed a corrected one.
    channels: dict[tuple[int, float], list[str]] = field(default_factory=dict)


def aging_items(session: Session, *, now: dt.datetime, since: dt.datetime | None = None) -> list[int]:
    """The items of predictive retailers with a source whose figure can move as its count ages.

    With `since` (the last run), only those whose predicted depletion did move between then and
    `now`: one read of the candidate sources, then the arithmetic, mostly one power per source (a
    source whose outside sales will probably take nothing even now took nothing then either).
    """
    return aging_moves(session, now=now, since=since).items


def aging_moves(
    session: Session,
    *,
    now: dt.datetime,
    since: dt.datetime | None = None,
    channel_minutes: Mapping[int, Collection[float]] | None = None,
) -> Moves:
    """`aging_items`, and with `channel_minutes` (retailer -> the intervals of its channels whose
    buffer is automatic, `automatic_endpoints`) the items whose channel term over such an interval
    (predictive.channel_depletion) moved while their hub figure did not: an aging count can step the
    quantile over the count's age plus the interval before the one over its age alone. The same one
    read; the first run (no `since`) owes every candidate to every such channel."""
    rows = session.execute(
        sa.select(
            ItemSource.item_id,
            RetailerItem.retailer_id,
            RetailerItem.retailer_sku,
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
    intervals = {r: sorted({m for m in ms if m > 0}) for r, ms in (channel_minutes or {}).items()}
    if since is None or not rows:
        channels: dict[tuple[int, float], set[str]] = defaultdict(set)
        for row in rows:
            for minutes in intervals.get(row.retailer_id, ()):
                channels[(row.retailer_id, minutes)].add(row.retailer_sku)
        return Moves(sorted({row[0] for row in rows}), {k: sorted(v) for k, v in channels.items()})
    inputs = predictive.load(session, [row[3] for row in rows], [row[1] for row in rows])
    moving: set[int] = set()
    channel_moving: dict[tuple[int, float], dict[int, str]] = defaultdict(dict)
    for (
        item_id,
        retailer_id,
        sku,
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
        then = max(since, as_of)
        now_taken = predictive.predicted_depletion(inputs, **source, as_of=as_of, now=now).units
        if (
            now_taken
            and now_taken != predictive.predicted_depletion(inputs, **source, as_of=as_of, now=then).units
        ):
            moving.add(item_id)
            continue
        for minutes in intervals.get(retailer_id, ()):
            if item_id in channel_moving[(retailer_id, minutes)]:
                continue
            term = {**source, "as_of": as_of, "interval_minutes": minutes}
            if (
                predictive.channel_depletion(inputs, **term, now=now).units
                != predictive.channel_depletion(inputs, **term, now=then).units
            ):
                channel_moving[(retailer_id, minutes)][item_id] = sku
    return Moves(
        sorted(moving),
        {
            key: sorted(sku for item_id, sku in found.items() if item_id not in moving)
            for key, found in channel_moving.items()
            if set(found) - moving
        },
    )


def automatic_endpoints(session: Session) -> dict[int, dict[float, list[int]]]:
    """Predictive retailers' active throttled webhook endpoints whose buffer is automatic and that
    hear availability changes: retailer -> channel interval in minutes -> endpoint ids."""
    found: dict[int, dict[float, list[int]]] = defaultdict(lambda: defaultdict(list))
    for endpoint in session.scalars(
        sa.select(WebhookEndpoint)
        .join(AvailabilitySettings, AvailabilitySettings.retailer_id == WebhookEndpoint.org_id)
        .where(
            AvailabilitySettings.model == PREDICTIVE,
            WebhookEndpoint.active,
            WebhookEndpoint.buffer.is_(None),
            WebhookEndpoint.min_interval_seconds > 0,
        )
        .order_by(WebhookEndpoint.id)
    ):
        if subscribes(endpoint.events, AvailabilityChanged.wire_name):
            minutes = channel_interval_minutes(endpoint.buffer, endpoint.min_interval_seconds)
            found[endpoint.org_id][minutes].append(endpoint.id)
    return {retailer: dict(by_minutes) for retailer, by_minutes in found.items()}


def owe_channels(
    session: Session,
    moves: Moves,
    endpoints: Mapping[int, Mapping[float, list[int]]],
    *,
    now: dt.datetime,
    retry_for: dt.timedelta,
) -> int:
    """Mark the items whose automatic channel term alone moved pending on those endpoints, so their
    next coalesced push carries the corrected figure (claims._coalesced_body reads it then); return
    how many (endpoint, item) pairs were owed."""
    owed = {
        (endpoint_id, sku)
        for (retailer_id, minutes), skus in moves.channels.items()
        for endpoint_id in endpoints.get(retailer_id, {}).get(minutes, ())
        for sku in skus
    }
    for start in range(0, len(owed), CHUNK):
        touch_pending(session, set(sorted(owed)[start : start + CHUNK]), now=now, retry_for=retry_for)
    return len(owed)


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
