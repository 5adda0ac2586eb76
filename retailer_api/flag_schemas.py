"""The contract of flags, their figures, oversell holds and retailer settings: explicit schemas."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from network.edge import Schema
from network.flags.holds import ACTIVE, LIFTED
from network.flags.services import STATUSES
from retailer_api.pagination import PageArgs


class FlagListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    order_id = fields.Integer(validate=validate.Range(1))


class FlagSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    line_id = fields.Integer(attribute="order_line_id")
    purchase_order_line_id = fields.Integer(attribute="po_line_id")
    kind = fields.String()
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


class HoldListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf((ACTIVE, LIFTED)))


class HoldSchema(Schema):
    id = fields.Integer(attribute="hold.id")
    vendor_id = fields.Integer(attribute="hold.vendor_id")
    vendor_variant_id = fields.Integer(attribute="hold.variant_id")
    vendor_sku = fields.String()
    reason = fields.String(attribute="hold.reason")
    detail = fields.Dict(attribute="hold.detail")
    active = fields.Boolean()
    placed_at = fields.DateTime(attribute="hold.placed_at")
    until = fields.DateTime(attribute="hold.until")
    lifted_at = fields.DateTime(attribute="hold.lifted_at", allow_none=True)
    lifted_by = fields.String(attribute="hold.lifted_by", allow_none=True)


class HoldListSchema(Schema):
    data = fields.List(fields.Nested(HoldSchema))
    next_cursor = fields.String(allow_none=True)
