"""The console's Availability page: find an item, and say in plain words why it shows its figure.

The figures come from network/orders/explain.py (the published ones, by the same code); this
module only finds items and turns each source's terms into sentences a person can act on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.compute import CONNECTION_INACTIVE, ON_HOLD, STALE, VARIANT_INACTIVE
from network.availability.predictive import Depletion
from network.catalog.models import RetailerItem
from network.catalog.skus import normal_sku
from network.delivery.channels import ChannelExplanation, explain_channels
from network.orders.explain import Explanation, SourceExplanation, explain
from network.partners.models import Organization

PAGE_SIZE = 50


@dataclass(frozen=True)
class ItemHit:
    id: int
    retailer_sku: str
    title: str
    published_available: int | None


@dataclass(frozen=True)
class ItemPage:
    rows: list[ItemHit]
    next_after: int | None  # the cursor of the next page, None on the last


def exact_item(session: Session, *, retailer_id: int, text: str) -> str | None:
    """The retailer's SKU typed exactly (as stored), if there is one: the search goes straight to it."""
    sku = normal_sku(text)
    if not sku:
        return None
    return session.scalar(
        sa.select(RetailerItem.retailer_sku).where(
            RetailerItem.retailer_id == retailer_id, RetailerItem.retailer_sku == sku
        )
    )


def search_items(session: Session, *, retailer_id: int, text: str, after_id: int) -> ItemPage:
    """The retailer's items whose SKU or title holds `text` (case-insensitive), a page in id order."""
    query = sa.select(
        RetailerItem.id, RetailerItem.retailer_sku, RetailerItem.title, RetailerItem.published_available
    ).where(RetailerItem.retailer_id == retailer_id, RetailerItem.id > after_id)
    text = text.strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                RetailerItem.retailer_sku.ilike(pattern, escape="\\"),
                RetailerItem.title.ilike(pattern, escape="\\"),
            )
        )
    rows = [ItemHit(*row) for row in session.execute(query.order_by(RetailerItem.id).limit(PAGE_SIZE + 1))]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return ItemPage(rows, rows[-1].id if more else None)


@dataclass(frozen=True)
class SourceRow:
    source: SourceExplanation
    vendor_name: str
    reasons: list[str]  # why it counts what it counts, one sentence each
    age: str | None  # how old the count is ("3 h 5 min"); None: never counted
    limit: str  # the connection's limit on that age ("2 h")


@dataclass(frozen=True)
class Breakdown:
    explanation: Explanation
    rows: list[SourceRow]
    # What each channel is shown (network/delivery/channels.py); its automatic buffer is also told
    # source by source in the rows' reasons.
    channels: list[ChannelExplanation]


def breakdown(session: Session, *, retailer_id: int, retailer_sku: str, now: dt.datetime) -> Breakdown:
    """Raises NotFound for an unknown SKU (another retailer's included)."""
    explanation = explain(session, retailer_id=retailer_id, retailer_sku=retailer_sku, now=now)
    channels = explain_channels(session, retailer_id=retailer_id, retailer_sku=retailer_sku, now=now)
    vendor_ids = {source.vendor_id for source in explanation.sources}
    names = dict(
        session.execute(
            sa.select(Organization.id, Organization.name).where(Organization.id.in_(vendor_ids))
        ).all()
    )
    rows = [
        SourceRow(
            source,
            names.get(source.vendor_id, ""),
            reasons(source, now) + channel_reasons(source.vendor_variant_id, channels),
            None if source.as_of is None else duration(now - source.as_of),
            duration(dt.timedelta(minutes=source.stale_after_minutes)),
        )
        for source in explanation.sources
    ]
    return Breakdown(explanation, rows, channels)


def reasons(source: SourceExplanation, now: dt.datetime) -> list[str]:
    """Each reason the source counts zero, or how its figure adds up when none applies."""
    said = []
    for exclusion in source.excluded_by:
        if exclusion == CONNECTION_INACTIVE:
            if source.connection_status is None:
                said.append("not connected: you have no connection to this vendor")
            else:
                said.append(f"connection {source.connection_status}: its units are not offered")
        elif exclusion == VARIANT_INACTIVE:
            said.append("inactive: the vendor no longer offers this variant")
        elif exclusion == ON_HOLD:
            until = f" until {_moment(source.hold_until)}" if source.hold_until else ""
            said.append(f"on hold{until}: the vendor refused an order line for stock it had reported")
        elif exclusion == STALE:
            limit = duration(dt.timedelta(minutes=source.stale_after_minutes))
            if source.as_of is None:
                said.append(f"stale: the vendor never sent a count (limit {limit})")
            else:
                said.append(f"stale: last count {duration(now - source.as_of)} old, limit {limit}")
    if said:
        return said
    term = source.predicted_depletion
    predicted = term.units if term is not None else 0
    net = source.quantity - source.committed - source.buffer - predicted
    sum_ = f"{source.quantity} counted − {source.committed} committed − {source.buffer} buffer"
    if predicted:
        sum_ += f" − {predicted} predicted outside sales"
    sum_ += f" = {net}"
    said = [f"nothing left: {sum_}" if net <= 0 else sum_]
    if predicted:
        said.append(predicted_sentence(term))
    return said


def predicted_sentence(term: Depletion) -> str:
    """The predictive term in words, with its inputs as the explanation gives them (no new figures)."""
    rate = f"{term.rate_per_hour:.1f}" if term.rate_per_hour >= 1 else f"{term.rate_per_hour:.2g}"
    span = duration(dt.timedelta(minutes=term.horizon_minutes))
    return (
        f"predicted outside sales: the vendor sells about {rate} an hour on its other channels; in the "
        f"{span} from its count until it would import an order placed now (the count's age plus its "
        f"import delay) it sells at most {term.units} with a {term.probability:.0%} chance, "
        f"so {term.units} are held back"
    )


def channel_reasons(variant_id: int, channels: list[ChannelExplanation]) -> list[str]:
    """A sentence per channel whose automatic buffer holds back units of this source."""
    said = []
    for channel in channels:
        for term in channel.predicted_depletion:
            if term.vendor_variant_id == variant_id and term.units:
                said.append(
                    f"{channel.label}: {term.units} fewer shown, the outside sales probable before it can"
                    f" be corrected ({duration(dt.timedelta(minutes=term.horizon_minutes))} at"
                    f" {term.rate_per_hour:.1f} an hour, {term.probability:.0%} sure)"
                )
    return said


def duration(delta: dt.timedelta) -> str:
    """A short, readable length of time: "45 min", "3 h", "3 h 20 min", "2 d 4 h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def _moment(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
