"""A retailer's availability settings (issue 18): the fixed formula or the predictive one, and what
a cancellation and a sale are worth to it. Changing them republishes the retailer's figures."""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.models import AVAILABILITY_MODELS, FIXED, AvailabilitySettings
from network.availability.services import publish_changes
from network.catalog.models import RetailerItem
from network.errors import InvalidInput

DEFAULT_CANCELLATION_COST = 100.0  # the seed's figure: a support call, a refund, goodwill
UNSET = object()


def availability_settings(session: Session, *, retailer_id: int) -> AvailabilitySettings:
    """The retailer's settings; the defaults (fixed, $100, margin from the price) if it never set any."""
    found = session.get(AvailabilitySettings, retailer_id)
    if found is not None:
        return found
    return AvailabilitySettings(
        retailer_id=retailer_id, model=FIXED, cancellation_cost=DEFAULT_CANCELLATION_COST, margin_share=None
    )


def update_availability_settings(
    session: Session,
    *,
    retailer_id: int,
    model: str | None = None,
    cancellation_cost: float | None = None,
    margin_share: float | None | object = UNSET,
    now: dt.datetime,
) -> AvailabilitySettings:
    """Change the settings given (`margin_share` None: from each variant's price and cost) and
    publish the figures they move. Raises InvalidInput, naming each bad field; nothing changes then."""
    errors: dict[str, list[str]] = {}
    if model is not None and model not in AVAILABILITY_MODELS:
        errors["model"] = [f"must be one of {', '.join(AVAILABILITY_MODELS)}"]
    if cancellation_cost is not None and not (math.isfinite(cancellation_cost) and cancellation_cost >= 0):
        errors["cancellation_cost"] = ["must be a non-negative amount"]
    if margin_share is not UNSET and margin_share is not None and not 0 < margin_share <= 1:
        errors["margin_share"] = ["must be above 0 and at most 1, or null (from the price)"]
    if errors:
        raise InvalidInput("invalid availability settings", errors=errors)
    settings = session.get(AvailabilitySettings, retailer_id)
    if settings is None:
        settings = availability_settings(session, retailer_id=retailer_id)
        session.add(settings)
    if model is not None:
        settings.model = model
    if cancellation_cost is not None:
        settings.cancellation_cost = cancellation_cost
    if margin_share is not UNSET:
        settings.margin_share = margin_share
    settings.updated_at = now
    session.flush()
    items = session.scalars(
        sa.select(RetailerItem.id).where(RetailerItem.retailer_id == retailer_id).order_by(RetailerItem.id)
    ).all()
    publish_changes(session, items, now=now)
    return settings
