"""What each of a retailer's channels is shown of an item, and why (issue 18): the figure a webhook
endpoint or a storefront connector gets, after its buffer and cap.

A channel whose buffer is set holds that back; one whose buffer is automatic (null) holds back, on
the predictive availability model, what outside sales will probably take of each source before the
channel can next be corrected (predictive.channel_depletion: its throttle for an endpoint, one sync
for a connector), and nothing on the fixed model. The figures are computed by the code that sends
them (read_availability with `channel_minutes`, rules.channel_figure), so an explanation and a push
cannot disagree. Explanations (GET /api/v1/availability/{sku}/explain, the console's Availability
page) show each channel with its per-source terms, shaped like the hub's own `predicted_depletion`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.predictive import Depletion
from network.availability.services import ItemAvailability, read_availability
from network.connectors.models import ACTIVE, Connector
from network.connectors.services import SYNC_SECONDS
from network.outbox.events import AvailabilityChanged
from network.outbox.models import WebhookEndpoint
from network.outbox.rules import channel_figure, channel_interval_minutes, subscribes

WEBHOOK_ENDPOINT, CONNECTOR = "webhook_endpoint", "connector"


@dataclass(frozen=True)
class SourceChannelTerm:
    """One source's automatic buffer on a channel: `Depletion` over the channel's interval."""

    vendor_variant_id: int
    units: int
    rate_per_hour: float
    horizon_minutes: float  # the channel's interval
    probability: float


@dataclass(frozen=True)
class ChannelExplanation:
    kind: str  # WEBHOOK_ENDPOINT or CONNECTOR
    id: int
    label: str  # the endpoint's description (or URL), the connector's store
    buffer: int | None  # set on the channel; None: automatic
    interval_minutes: float  # how long the channel shows a figure before it can be corrected
    max_quantity: int | None
    held_back: int  # the buffer applied: the set one, or the automatic one
    available: int  # what the channel is shown
    # The automatic buffer's terms, per source (empty when the buffer is set or on the fixed model).
    predicted_depletion: list[SourceChannelTerm]


def explain_channels(
    session: Session, *, retailer_id: int, retailer_sku: str, now: dt.datetime
) -> list[ChannelExplanation]:
    """The item's figure on each active channel of the retailer that hears availability changes."""
    channels: list[tuple[str, int, str, int | None, int, int | None]] = [
        (WEBHOOK_ENDPOINT, e.id, e.description or e.url, e.buffer, e.min_interval_seconds, e.max_quantity)
        for e in session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id == retailer_id, WebhookEndpoint.active)
            .order_by(WebhookEndpoint.id)
        )
        if subscribes(e.events, AvailabilityChanged.wire_name)
    ]
    channels += [
        (CONNECTOR, c.id, c.shop_url, c.buffer, SYNC_SECONDS, c.max_quantity)
        for c in session.scalars(
            sa.select(Connector)
            .where(Connector.retailer_id == retailer_id, Connector.status == ACTIVE)
            .order_by(Connector.id)
        )
    ]
    read: dict[float, ItemAvailability | None] = {}
    found = []
    for kind, channel_id, label, buffer, seconds, cap in channels:
        minutes = channel_interval_minutes(buffer, seconds)
        if minutes not in read:
            items = read_availability(
                session,
                retailer_id=retailer_id,
                skus=[retailer_sku],
                after_id=0,
                limit=1,
                now=now,
                channel_minutes=minutes,
            )
            read[minutes] = items[0] if items else None
        item = read[minutes]
        if item is None:
            return []
        terms = [
            _term(s.vendor_variant_id, s.channel_depletion)
            for s in item.sources
            if s.channel_depletion is not None
        ]
        found.append(
            ChannelExplanation(
                kind=kind,
                id=channel_id,
                label=label,
                buffer=buffer,
                interval_minutes=seconds / 60,
                max_quantity=cap,
                held_back=item.channel_units if buffer is None else buffer,
                available=channel_figure(
                    item.available, buffer=buffer, max_quantity=cap, automatic=item.channel_units
                ),
                predicted_depletion=terms,
            )
        )
    return found


def _term(variant_id: int, term: Depletion) -> SourceChannelTerm:
    return SourceChannelTerm(
        variant_id, term.units, term.rate_per_hour, term.horizon_minutes, term.probability
    )
