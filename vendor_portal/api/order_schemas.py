"""The vendor API's purchase-order and return contract: explicit input and output schemas."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from api_common.edge import Schema
from api_common.fields import DecimalString
from api_common.pagination import PageArgs
from api_common.schemas import LineQuantityInSchema, ReturnSchema
from network.flags.hooks import REASON_CODES
from network.orders.models import LINE_STATES, RETURN_CLOSED, RETURN_OPEN, RETURN_RECEIVED

LINES = validate.Length(1, 200)
UNITS = validate.Range(0, 1_000_000)


class PurchaseOrderListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(LINE_STATES))


class AcknowledgeSchema(Schema):
    class Meta:
        unknown = RAISE

    lines = fields.List(fields.Nested(LineQuantityInSchema), validate=LINES)


class RejectSchema(Schema):
    class Meta:
        unknown = RAISE

    lines = fields.List(fields.Nested(LineQuantityInSchema), validate=LINES)
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    # `out_of_stock` although the hub had units on record holds the variant (network/flags/hooks.py).
    reason_code = fields.String(validate=validate.OneOf(REASON_CODES))


class CancelSchema(RejectSchema):
    pass


class ShipmentCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    carrier = fields.String(required=True, validate=validate.Length(1, 100))
    tracking_number = fields.String(required=True, validate=validate.Length(1, 200))
    lines = fields.List(fields.Nested(LineQuantityInSchema), required=True, validate=LINES)


class PurchaseOrderLineSchema(Schema):
    id = fields.Integer()
    order_line_id = fields.Integer()
    vendor_variant_id = fields.Integer(attribute="variant_id")
    vendor_sku = fields.Function(lambda line: line.variant.vendor_sku)
    unit_cost = DecimalString()
    quantity = fields.Integer(attribute="ordered")
    cancelled = fields.Integer()
    rejected = fields.Integer()
    shipped = fields.Integer()
    returned = fields.Integer()
    open = fields.Integer(attribute="unshipped")
    status = fields.String()
    acknowledged_at = fields.DateTime(allow_none=True)


class ShipmentLineSchema(Schema):
    line_id = fields.Integer(attribute="po_line_id")
    quantity = fields.Integer()


class ShipmentSchema(Schema):
    id = fields.Integer()
    purchase_order_id = fields.Integer(attribute="po_id")
    carrier = fields.String()
    tracking_number = fields.String()
    shipped_at = fields.DateTime()
    lines = fields.List(fields.Nested(ShipmentLineSchema))


class PurchaseOrderSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    retailer_id = fields.Integer()
    reference = fields.Function(lambda po: po.order.reference)
    ship_to = fields.Function(lambda po: po.order.ship_to)
    status = fields.String()
    lines = fields.List(fields.Nested(PurchaseOrderLineSchema))
    shipments = fields.List(fields.Nested(ShipmentSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PurchaseOrderListSchema(Schema):
    data = fields.List(fields.Nested(PurchaseOrderSchema))
    next_cursor = fields.String(allow_none=True)


class ReturnListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf([RETURN_OPEN, RETURN_RECEIVED, RETURN_CLOSED]))


class ReturnListSchema(Schema):
    data = fields.List(fields.Nested(ReturnSchema))
    next_cursor = fields.String(allow_none=True)


class ReceiveSchema(Schema):
    class Meta:
        unknown = RAISE

    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1_000_000))


class InspectionSchema(Schema):
    class Meta:
        unknown = RAISE

    resellable = fields.Integer(required=True, strict=True, validate=UNITS)
    damaged = fields.Integer(required=True, strict=True, validate=UNITS)
