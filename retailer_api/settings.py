"""The retailer's policies: whether the hub may reroute doubtful lines by itself, and how it
publishes availability (the fixed or the predictive model, what a cancellation and a sale are worth).

One rule for who may change them: a token with `orders:write`, as before the availability settings."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from network.availability.settings import availability_settings, settings_view
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.flags import reroute
from network.partners.audit import Actor
from retailer_api.flag_schemas import SettingsPatchSchema, SettingsSchema

blp = Blueprint("settings", __name__, url_prefix="/api/v1/settings", description="Retailer policies")


def _settings(retailer_id: int) -> dict:
    org = reroute.get_settings(db.session, retailer_id=retailer_id)
    return {
        "auto_reroute": org.auto_reroute,
        **settings_view(availability_settings(db.session, retailer_id=retailer_id)),
    }


@blp.get("")
@secured(blp, "orders:read")
@blp.response(200, SettingsSchema)
def get_settings():
    """Show the retailer's policies"""
    return _settings(current_caller().org_id)


@blp.patch("")
@secured(blp, "orders:write")
@blp.arguments(SettingsPatchSchema)
@blp.response(200, SettingsSchema)
def patch_settings(body: dict):
    """Change policies (those given): `auto_reroute` lets the hub move a flagged, unacknowledged
    line to another source; `availability_model`, `cancellation_cost` and `margin_share` set how
    availability is published (the figures are republished at once). One audit entry records every
    field that moved, before and after."""
    caller = current_caller()
    actor, now = Actor(client_pk=caller.client_pk), utcnow()
    with transaction(db.session):
        reroute.change_settings(db.session, retailer_id=caller.org_id, changes=body, actor=actor, now=now)
    return _settings(caller.org_id)
