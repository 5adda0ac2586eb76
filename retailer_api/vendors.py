"""Vendor scorecards: fill, cancellation, acknowledgement and shipment figures per connected vendor."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate

from api_common.auth import secured
from api_common.edge import Schema
from api_common.oauth import current_caller
from network.clock import utcnow
from network.console_views.scorecards import scorecards
from network.extensions import db

blp = Blueprint(
    "vendors", __name__, url_prefix="/api/v1/vendors", description="Connected vendors' performance"
)


class ScorecardArgs(Schema):
    days = fields.Integer(load_default=30, validate=validate.Range(1, 365))


class ScorecardSchema(Schema):
    connection_id = fields.Integer()
    vendor_id = fields.Integer()
    vendor_name = fields.String()
    status = fields.String()
    routing_priority = fields.Integer()
    ack_sla_hours = fields.Integer()
    ship_sla_hours = fields.Integer()
    days = fields.Integer()
    lines = fields.Integer(attribute="score.lines")
    units_ordered = fields.Integer(attribute="score.units_ordered")
    units_shipped = fields.Integer(attribute="score.units_shipped")
    fill_rate = fields.Float(attribute="score.fill_rate", allow_none=True)
    cancel_rate = fields.Float(attribute="score.cancel_rate", allow_none=True)
    on_time_ack = fields.Float(attribute="score.on_time_ack", allow_none=True)
    on_time_ship = fields.Float(attribute="score.on_time_ship", allow_none=True)
    median_ack_hours = fields.Float(attribute="score.median_ack_hours", allow_none=True)
    median_ship_hours = fields.Float(attribute="score.median_ship_hours", allow_none=True)
    flagged_first = fields.Float(allow_none=True)
    unacknowledged_850s = fields.Integer(
        metadata={
            "description": "EDI vendors: purchase orders whose 850 got no 997 within the partner's window"
        }
    )
    feed_freshness = fields.Integer(
        attribute="feed_age_minutes",
        allow_none=True,
        metadata={"description": "minutes since the last count"},
    )
    last_count_at = fields.DateTime(allow_none=True)


class ScorecardListSchema(Schema):
    data = fields.List(fields.Nested(ScorecardSchema))


@blp.get("/scorecards")
@secured(blp, "orders:read")
@blp.arguments(ScorecardArgs, location="query")
@blp.response(200, ScorecardListSchema)
def list_scorecards(args: dict):
    """Score each connected vendor on the purchase orders placed in the last `days` (30 by default)"""
    cards = scorecards(db.session, retailer_id=current_caller().org_id, days=args["days"], now=utcnow())
    return {"data": cards}
