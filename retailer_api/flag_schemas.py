"""The contract of flags, their figures, oversell holds and retailer settings: explicit schemas."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from api_common.edge import Schema
from api_common.pagination import PageArgs
from network.flags.models import KINDS
from network.flags.services import STATUSES


class FlagListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    order_id = fields.Integer(validate=validate.Range(1))


class FlagSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    line_id = fields.Integer(attribute="order_line_id")
    purchase_order_line_id = fields.Integer(
        attribute="po_line_id",
        allow_none=True,
        metadata={"description": "null on an `unfillable` flag: the missing units have no purchase order"},
    )
    kind = fields.String(metadata={"description": ", ".join(KINDS)})
    raised_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    detail = fields.Dict()
    lead_time_seconds = fields.Integer(allow_none=True)


class FlagListSchema(Schema):
    data = fields.List(fields.Nested(FlagSchema))
    next_cursor = fields.String(allow_none=True)


class FlagStatsArgs(Schema):
    since = fields.AwareDateTime(default_timezone=None)


class FlagStatsSchema(Schema):
    cancellations = fields.Integer()
    flagged_first = fields.Integer()
    share_flagged_first = fields.Float(allow_none=True)
    median_lead_time_seconds = fields.Float(allow_none=True)


class SettingsSchema(Schema):
    auto_reroute = fields.Boolean()


class SettingsPatchSchema(Schema):
    class Meta:
        unknown = RAISE

    auto_reroute = fields.Boolean()
