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
MAX_CANCELLATION_COST = 1_000_000.0  # more is a typo, not a cost
UNSET = object()


def availability_settings(session: Session, *, retailer_id: int) -> AvailabilitySettings:
    """The retailer's settings; the defaults (fixed, $100, margin from the price) if it never set any."""
    found = session.get(AvailabilitySettings, retailer_id)
    if found is not None:
        return found
    return AvailabilitySettings(
        retailer_id=retailer_id, model=FIXED, cancellation_cost=DEFAULT_CANCELLATION_COST, margin_share=None
    )


_NOTED_MODELS = "dropnet_availability_models"


def availability_model(session: Session, *, retailer_id: int) -> str:
    """The retailer's model (fixed or predictive): as a read of this transaction noted it
    (`note_model`), else read now."""
    noted = session.info.get(_NOTED_MODELS)
    if noted is not None and retailer_id in noted:
        return noted[retailer_id]
    return availability_settings(session, retailer_id=retailer_id).model


def note_model(session: Session, *, retailer_id: int, model: str | None) -> None:
    """Remember the model a query read along (None: the retailer has no settings, the default), so
    that `availability_model` does not read it again: until the session flushes (which may write
    the settings) or the transaction ends. An order's placement reads it with its items."""
    session.info.setdefault(_NOTED_MODELS, {})[retailer_id] = model or FIXED


@sa.event.listens_for(Session, "after_flush")
@sa.event.listens_for(Session, "after_transaction_end")
def _forget_models(session: Session, *_args: object) -> None:
    session.info.pop(_NOTED_MODELS, None)


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
    errors = _errors(
        UNSET if model is None else model,
        UNSET if cancellation_cost is None else cancellation_cost,
        margin_share,
        model_field="model",
    )
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


def _errors(model: object, cost: object, share: object, *, model_field: str) -> dict[str, list[str]]:
    """Each bad setting's message, by field; UNSET leaves a setting as it is, and only the margin
    share may be None (from the price)."""
    errors: dict[str, list[str]] = {}
    if model is not UNSET and model not in AVAILABILITY_MODELS:
        errors[model_field] = [f"must be one of {', '.join(AVAILABILITY_MODELS)}"]
    if cost is not UNSET and not (_number(cost) and 0 <= cost <= MAX_CANCELLATION_COST):
        errors["cancellation_cost"] = [f"must be an amount from 0 to {MAX_CANCELLATION_COST:,.0f}"]
    if share is not UNSET and share is not None and not (_number(share) and 0 < share <= 1):
        errors["margin_share"] = ["must be above 0 and at most 1, or null (from each item's price less cost)"]
    return errors


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# What the retailer sees and sets (the API's and the console's names), and the stored attribute.
SETTINGS = {
    "availability_model": "model",
    "cancellation_cost": "cancellation_cost",
    "margin_share": "margin_share",
}


def settings_view(settings: AvailabilitySettings) -> dict[str, object]:
    """The settings under the names the retailer sees them by."""
    return {name: getattr(settings, attribute) for name, attribute in SETTINGS.items()}


def apply_availability_changes(
    session: Session, *, retailer_id: int, changes: dict[str, object], now: dt.datetime
) -> tuple[AvailabilitySettings, dict[str, object], dict[str, object]]:
    """The retailer changes some of its settings (`changes` by the names of SETTINGS; margin_share
    None: from each variant's price less cost), unaudited: network/flags/reroute.py change_settings
    records one `settings.changed` for these and the retailer's other policies. Every field is
    checked before anything changes (InvalidInput names each bad one); returns the settings and the
    fields that moved (before, after; both empty when nothing moved)."""
    unknown = sorted(set(changes) - set(SETTINGS))
    errors = {name: ["is not a setting"] for name in unknown}
    errors |= _errors(
        changes.get("availability_model", UNSET),
        changes.get("cancellation_cost", UNSET),
        changes.get("margin_share", UNSET),
        model_field="availability_model",
    )
    if errors:
        raise InvalidInput("invalid availability settings", errors=errors)
    before = settings_view(availability_settings(session, retailer_id=retailer_id))
    moved = {name: value for name, value in changes.items() if value != before[name]}
    if not moved:
        return availability_settings(session, retailer_id=retailer_id), {}, {}
    settings = update_availability_settings(
        session,
        retailer_id=retailer_id,
        model=moved.get("availability_model"),
        cancellation_cost=moved.get("cancellation_cost"),
        margin_share=moved.get("margin_share", UNSET),
        now=now,
    )
    after = settings_view(settings)
    return settings, {name: before[name] for name in moved}, {name: after[name] for name in moved}
