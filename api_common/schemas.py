"""Schemas both APIs expose unchanged: line quantities in, returns and oversell holds out."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from api_common.edge import Schema
from api_common.pagination import PageArgs
from network.flags.holds import ACTIVE, LIFTED

QUANTITY = validate.Range(1, 1_000_000)


class LineQuantityInSchema(Schema):
    class Meta:
        unknown = RAISE

    line_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=QUANTITY)


class ReturnLineSchema(Schema):
    id = fields.Integer()
    order_line_id = fields.Integer()
    purchase_order_line_id = fields.Integer(attribute="po_line_id")
    vendor_variant_id = fields.Integer(attribute="variant_id")
    quantity = fields.Integer()
    received = fields.Integer()
    resellable = fields.Integer()
    damaged = fields.Integer()


class ReturnSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    purchase_order_id = fields.Integer(attribute="po_id")
    retailer_id = fields.Integer()
    vendor_id = fields.Integer()
    status = fields.String()
    reason = fields.String()
    quantity = fields.Integer()
    received = fields.Integer()
    resellable = fields.Integer()
    damaged = fields.Integer()
    lines = fields.List(fields.Nested(ReturnLineSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class HoldListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf((ACTIVE, LIFTED)))


class HoldSchema(Schema):
    id = fields.Integer(attribute="hold.id")
    vendor_id = fields.Integer(attribute="hold.vendor_id")
    vendor_variant_id = fields.Integer(attribute="hold.variant_id")
    vendor_sku = fields.String()
    reason = fields.String(attribute="hold.reason")
    detail = fields.Dict(
        metadata={"description": "the vendor's free-text reason shows to the retailer whose order it refused"}
    )
    active = fields.Boolean()
    placed_at = fields.DateTime(attribute="hold.placed_at")
    until = fields.DateTime(attribute="hold.until")
    lifted_at = fields.DateTime(attribute="hold.lifted_at", allow_none=True)
    lifted_by = fields.String(attribute="hold.lifted_by", allow_none=True)


class HoldListSchema(Schema):
    data = fields.List(fields.Nested(HoldSchema))
    next_cursor = fields.String(allow_none=True)
