"""The retailer's policies: whether the hub may reroute doubtful lines by itself."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.flags import reroute
from network.partners.audit import Actor
from retailer_api.flag_schemas import SettingsPatchSchema, SettingsSchema

blp = Blueprint("settings", __name__, url_prefix="/api/v1/settings", description="Retailer policies")


@blp.get("")
@secured(blp, "orders:read")
@blp.response(200, SettingsSchema)
def get_settings():
    """Show the retailer's policies"""
    return reroute.get_settings(db.session, retailer_id=current_caller().org_id)


@blp.patch("")
@secured(blp, "orders:write")
@blp.arguments(SettingsPatchSchema)
@blp.response(200, SettingsSchema)
def patch_settings(body: dict):
    """Change policies: `auto_reroute` lets the hub move a flagged, unacknowledged line to another source"""
    with transaction(db.session):
        caller = current_caller()
        org = reroute.update_settings(
            db.session,
            retailer_id=caller.org_id,
            auto_reroute=body.get("auto_reroute"),
            actor=Actor(client_pk=caller.client_pk),
            now=utcnow(),
        )
    return org
