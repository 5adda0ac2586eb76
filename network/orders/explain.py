"""Why an item shows its figure: each source's count, the purchase-order lines behind its committed
units, its buffer, hold and staleness (GET /api/v1/availability/{sku}/explain, the console's
Availability page).

The figures are the published ones, computed by the same code (read_availability with
`explain`); this module only adds what the formula does not need to know: which lines make up
`committed` (the in-flight rule, network/orders/inflight.py) and when a hold runs out. It sits in
the orders area because purchase-order lines do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from network.availability.services import SourceAvailability, hold_ends, read_availability
from network.catalog.models import RetailerItem
from network.errors import NotFound
from network.orders.inflight import CommittedLine, committed_lines


@dataclass(frozen=True)
class SourceExplanation:
    vendor_variant_id: int
    vendor_id: int
    vendor_sku: str
    priority: int
    quantity: int
    basis: str
    as_of: dt.datetime | None  # when the count was last confirmed (the row's or a later full feed's)
    committed: int
    # The retailer's own lines behind `committed`; units on other retailers' orders are only summed
    # (`committed_elsewhere`): their ids are not this retailer's to see.
    committed_lines: list[CommittedLine]
    committed_elsewhere: int
    buffer: int
    held: bool
    hold_until: dt.datetime | None
    stale: bool
    stale_after_minutes: int
    connection_status: str | None
    variant_active: bool
    incoming: int
    incoming_eta: dt.date | None
    excluded_by: tuple[str, ...]  # network/availability/compute.py EXCLUSIONS
    available: int
    # Issue 18 forecasts when the source runs out; nothing computes it yet.
    predicted_depletion: dt.datetime | None = None


@dataclass(frozen=True)
class Explanation:
    retailer_sku: str
    title: str
    available: int
    updated_at: dt.datetime
    computed_at: dt.datetime  # the moment staleness and holds were judged at
    sources: list[SourceExplanation]


def explain(session: Session, *, retailer_id: int, retailer_sku: str, now: dt.datetime) -> Explanation:
    """Raises NotFound for an unknown SKU (another retailer's included)."""
    found = read_availability(
        session, retailer_id=retailer_id, skus=[retailer_sku], after_id=0, limit=1, now=now, explain=True
    )
    if not found:
        raise NotFound(f"item {retailer_sku!r} not found")
    (item,) = found
    variant_ids = [s.vendor_variant_id for s in item.sources]
    lines = committed_lines(session, variant_ids)
    holds = hold_ends(session, variant_ids, now)
    return Explanation(
        retailer_sku=item.retailer_sku,
        title=session.get(RetailerItem, item.item_id).title,
        available=item.available,
        updated_at=item.updated_at,
        computed_at=now,
        sources=[
            _source(s, lines.get(s.vendor_variant_id, []), holds.get(s.vendor_variant_id), retailer_id)
            for s in item.sources
        ],
    )


def _source(
    source: SourceAvailability,
    lines: list[CommittedLine],
    hold_until: dt.datetime | None,
    retailer_id: int,
) -> SourceExplanation:
    detail = source.detail
    assert detail is not None  # read with explain=True
    state, terms = detail.state, detail.terms
    return SourceExplanation(
        vendor_variant_id=source.vendor_variant_id,
        vendor_id=source.vendor_id,
        vendor_sku=detail.vendor_sku,
        priority=source.priority,
        quantity=state.quantity,
        basis=detail.basis,
        as_of=state.as_of,
        committed=state.committed,
        committed_lines=[line for line in lines if line.retailer_id == retailer_id],
        committed_elsewhere=sum(line.units for line in lines if line.retailer_id != retailer_id),
        buffer=state.safety_buffer,
        held=state.on_hold,
        hold_until=hold_until,
        stale=terms.stale,
        stale_after_minutes=detail.stale_after_minutes,
        connection_status=detail.connection_status,
        variant_active=state.variant_active,
        incoming=source.incoming,
        incoming_eta=source.incoming_eta,
        excluded_by=terms.excluded_by,
        available=source.available,
    )
