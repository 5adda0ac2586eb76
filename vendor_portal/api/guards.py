"""The vendor's guards against slips: read and change their limits."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api_common.edge import Schema
from api_common.oauth import current_caller
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.partners.guards import guard_limits, set_guard_limits
from vendor_portal.api.common import vendor as vendor_guard

blp = Blueprint("vendor_guards", __name__, url_prefix="/vendor-api/v1", description="Guards against slips")


class GuardLimitsSchema(Schema):
    enabled = fields.Boolean(metadata={"description": "false: no row or price is held"})
    quantity_factor = fields.Integer(
        metadata={"description": "a count more than this many times the variant's highest count on record…"}
    )
    quantity_floor = fields.Integer(
        metadata={"description": "…and more than this many units above it is held"}
    )
    price_share = fields.Float(
        metadata={
            "description": "a cost or MAP moving by more than this share of its value is held (0.5: 50 %)"
        }
    )


class GuardLimitsPatchSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = fields.Boolean()
    quantity_factor = fields.Integer(strict=True, validate=validate.Range(2, 1_000_000))
    quantity_floor = fields.Integer(strict=True, validate=validate.Range(0, 1_000_000_000))
    price_share = fields.Float(validate=validate.Range(0.01, 100))


@blp.get("/guards")
@vendor_guard(blp, "inventory:write")
@blp.response(200, GuardLimitsSchema)
def get_guards():
    """The limits beyond which a feed row or catalog row is held for your confirmation"""
    return guard_limits(db.session, current_caller().org_id)


@blp.patch("/guards")
@vendor_guard(blp, "inventory:write")
@blp.arguments(GuardLimitsPatchSchema)
@blp.response(200, GuardLimitsSchema)
def patch_guards(changes: dict):
    """Change some of the limits (the others keep their values)"""
    with transaction(db.session):
        return set_guard_limits(db.session, current_caller().org_id, changes=changes, now=utcnow())
