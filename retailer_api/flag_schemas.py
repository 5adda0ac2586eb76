"""The contract of flags, their figures, oversell holds and retailer settings: explicit schemas."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from api_common.edge import Schema
from api_common.pagination import PageArgs
from network.availability.models import AVAILABILITY_MODELS
from network.availability.settings import MAX_CANCELLATION_COST
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


_MODEL = (
    "`fixed`: a source offers its count less committed units less the buffer. `predictive`: also "
    "less what the vendor's other channels will probably have sold of it by the time the vendor "
    "imports an order (fast sellers with aging counts only)"
)
_COST = "What one cancelled order costs you (refund, support, goodwill), in your currency; default 100"
_SHARE = (
    "The share of a unit's price you earn when it sells (0 < x <= 1); null: each variant's price "
    "less its cost. With the cancellation cost it sets how sure the predictive model must be that "
    "the last unit offered is still there"
)


class SettingsSchema(Schema):
    auto_reroute = fields.Boolean()
    availability_model = fields.String(metadata={"description": _MODEL, "enum": list(AVAILABILITY_MODELS)})
    cancellation_cost = fields.Float(metadata={"description": _COST})
    margin_share = fields.Float(allow_none=True, metadata={"description": _SHARE})


class SettingsPatchSchema(Schema):
    class Meta:
        unknown = RAISE

    auto_reroute = fields.Boolean()
    availability_model = fields.String(
        validate=validate.OneOf(AVAILABILITY_MODELS), metadata={"description": _MODEL}
    )
    cancellation_cost = fields.Float(
        validate=validate.Range(0, MAX_CANCELLATION_COST), metadata={"description": _COST}
    )
    margin_share = fields.Float(
        allow_none=True,
        validate=validate.Range(0, 1, min_inclusive=False),
        # apispec writes the range's minimum, not that it is exclusive: say so for the document.
        metadata={"description": _SHARE, "exclusiveMinimum": True},
    )
