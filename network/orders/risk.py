"""Routing by risk (issue 18): the inputs that let the router prefer the source likeliest to ship,
for a retailer on the predictive availability model; a retailer on the fixed model routes as before.

Read in one batch per order (the predictive term's `load`, the vendors' fill rates), never per
candidate; the arithmetic is the router's (network/orders/routing.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from network.availability import predictive
from network.availability.models import PREDICTIVE
from network.availability.settings import availability_model
from network.orders import fill
from network.orders.reserving import Source
from network.orders.routing import ShipRisk, ship_probability


def is_predictive(session: Session, retailer_id: int) -> bool:
    return availability_model(session, retailer_id=retailer_id) == PREDICTIVE


def with_risk(
    session: Session,
    retailer_id: int,
    candidates: Mapping[int, Sequence[Source]],
    now: dt.datetime,
    *,
    even_one: bool = False,
) -> Mapping[int, Sequence[Source]]:
    """The candidates, each with its `risk` for a retailer on the predictive model (unchanged for
    one on the fixed model, or where no item has two sources to choose between unless `even_one`)."""
    if not even_one and not any(len(sources) > 1 for sources in candidates.values()):
        return candidates
    if not is_predictive(session, retailer_id):
        return candidates
    sources = [source for sources in candidates.values() for source in sources]
    inputs = predictive.load(session, [s.variant_id for s in sources], [retailer_id])
    rates = fill.recent_fill_rates(session, [s.vendor_id for s in sources])
    return {
        item_id: [
            dataclasses.replace(source, risk=risk(inputs, rates, source, now)) for source in item_sources
        ]
        for item_id, item_sources in candidates.items()
    }


def risk(
    inputs: predictive.Inputs,
    rates: Mapping[int, float],
    source: Source,
    now: dt.datetime,
    *,
    placed_at: dt.datetime | None = None,
) -> ShipRisk:
    estimate, horizon = predictive.outlook(
        inputs,
        variant_id=source.variant_id,
        vendor_id=source.vendor_id,
        as_of=source.as_of,
        now=now,
        placed_at=placed_at,
    )
    return ShipRisk(estimate, horizon, rates.get(source.vendor_id, 1.0), source.buffer)


def likely_to_ship(source: Source, quantity: int) -> float | None:
    """The probability a source with its `risk` ships `quantity` units (None: no risk read)."""
    if source.risk is None:
        return None
    return ship_probability(source.risk, free=source.available, quantity=min(quantity, source.available))
