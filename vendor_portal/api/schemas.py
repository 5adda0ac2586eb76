"""The vendor API's public contract: explicit input and output schemas."""

from __future__ import annotations

import datetime as dt

from marshmallow import fields, validate

from api_common.edge import Schema
from api_common.fields import URL_PATTERN, DecimalString
from api_common.pagination import PageArgs
from network.feeds.models import RUN_STATUSES


class VariantPutSchema(Schema):
    """The whole variant: a field left out is reset (to empty, or `active: true`)."""

    title = fields.String(required=True, validate=validate.Length(max=300))
    gtin = fields.String(
        allow_none=True,
        validate=validate.Length(max=14),
        metadata={
            "pattern": "^([0-9]{8}|[0-9]{12,14})$",
            "description": "GTIN-8, -12, -13 or -14 with its check digit",
        },
    )
    cost = DecimalString(input=True)
    msrp = DecimalString(input=True)
    map_price = DecimalString(input=True, metadata={"description": "minimum advertised price"})
    weight = DecimalString(input=True, metadata={"description": "shipping weight in kilograms"})
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    image_urls = fields.List(
        fields.String(
            validate=validate.URL(schemes={"http", "https"}, require_tld=False),
            metadata={"format": "uri", "pattern": URL_PATTERN},
        ),
        allow_none=True,
        validate=validate.Length(max=20),
    )
    attributes = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 100)),
        values=fields.String(validate=validate.Length(max=1000)),
        allow_none=True,
        validate=validate.Length(max=100),
    )
    active = fields.Boolean()


class OwnVariantSchema(Schema):
    id = fields.Integer()
    vendor_sku = fields.String()
    gtin = fields.String(allow_none=True)
    title = fields.String()
    cost = DecimalString()
    msrp = DecimalString()
    map_price = DecimalString()
    weight = DecimalString()
    description = fields.String()
    image_urls = fields.List(fields.String())
    attributes = fields.Dict(keys=fields.String(), values=fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OwnVariantListArgs(PageArgs):
    q = fields.String(
        validate=validate.Length(1, 100),
        metadata={"description": "part of the sku or title, or a whole GTIN"},
    )


class OwnVariantListSchema(Schema):
    data = fields.List(fields.Nested(OwnVariantSchema))
    next_cursor = fields.String(allow_none=True)


ROW_DOC = {
    "type": "object",
    "required": ["sku", "quantity"],
    "properties": {
        "sku": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 0},
        "damaged": {"type": "integer", "minimum": 0},
        "pending_inspection": {"type": "integer", "minimum": 0},
        "incoming": {"type": "integer", "minimum": 0},
        "incoming_eta": {"type": "string", "format": "date"},
        "as_of": {"type": "string", "format": "date-time"},
    },
}


class InventoryPushSchema(Schema):
    as_of = fields.AwareDateTime(default_timezone=dt.UTC)
    mode = fields.String(load_default="delta", validate=validate.OneOf(["delta", "full"]))
    basis = fields.String(load_default="available", validate=validate.OneOf(["available", "on_hand"]))
    # Rows are validated by the feed parser, row by row, so one bad row rejects only itself.
    rows = fields.List(fields.Raw(), required=True, metadata={"items": ROW_DOC})


class InventoryCsvArgs(Schema):
    as_of = fields.AwareDateTime(default_timezone=dt.UTC)
    mode = fields.String(load_default="delta", validate=validate.OneOf(["delta", "full"]))
    basis = fields.String(load_default="available", validate=validate.OneOf(["available", "on_hand"]))
    delimiter = fields.String(validate=validate.OneOf([",", ";", "\t", "|"]))


class RowErrorSchema(Schema):
    line = fields.Integer()
    sku = fields.String(allow_none=True)
    reason = fields.String()


class FeedRunSchema(Schema):
    id = fields.Integer()
    feed_id = fields.Integer(allow_none=True)
    transport = fields.String()
    format = fields.String()
    mode = fields.String(
        allow_none=True, metadata={"description": "null while a queued JSON push waits for the worker"}
    )
    basis = fields.String(allow_none=True)
    status = fields.String(
        metadata={
            "enum": list(RUN_STATUSES),
            "description": "queued: kept, waiting for the worker to apply it (poll until it changes)",
        }
    )
    message = fields.String(allow_none=True)
    hold_reason = fields.String(
        allow_none=True,
        metadata={
            "description": "held runs: mass_zero or shrunk (the whole file), quantity_jump (rows held "
            "apart from their file: a count far beyond the variant's history)"
        },
    )
    resolved_at = fields.DateTime(
        allow_none=True, metadata={"description": "when a held run was applied or discarded"}
    )
    as_of = fields.DateTime(allow_none=True)
    rows_seen = fields.Integer()
    rows_applied = fields.Integer()
    rows_rejected = fields.Integer()
    rows_changed = fields.Integer()
    errors = fields.List(fields.Nested(RowErrorSchema))
    received_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)


class FeedRunSummarySchema(FeedRunSchema):
    class Meta:
        exclude = ("errors",)


class FeedRunListSchema(Schema):
    data = fields.List(fields.Nested(FeedRunSummarySchema))
    next_cursor = fields.String(allow_none=True)


class FeedRunListArgs(PageArgs):
    pass
