"""The order endpoints' public contract: explicit input and output schemas."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from api_common.edge import Schema
from api_common.schemas import LineQuantityInSchema, ReturnSchema
from retailer_api.flag_schemas import FlagSchema

SKU = validate.Length(1, 100)
QUANTITY = validate.Range(1, 1_000_000)


class ShipToSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(1, 200))
    address1 = fields.String(required=True, validate=validate.Length(1, 200))
    address2 = fields.String(validate=validate.Length(max=200))
    city = fields.String(required=True, validate=validate.Length(1, 100))
    region = fields.String(validate=validate.Length(max=100))
    postal_code = fields.String(required=True, validate=validate.Length(1, 20))
    country = fields.String(required=True, validate=validate.Length(2, 2))
    phone = fields.String(validate=validate.Length(max=40))


class OrderLineInSchema(Schema):
    class Meta:
        unknown = RAISE

    retailer_sku = fields.String(required=True, validate=SKU)
    quantity = fields.Integer(required=True, strict=True, validate=QUANTITY)


class OrderCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    reference = fields.String(required=True, validate=validate.Length(1, 100))
    lines = fields.List(fields.Nested(OrderLineInSchema), required=True, validate=validate.Length(1, 200))
    ship_to = fields.Nested(ShipToSchema, required=True)
    allow_partial = fields.Boolean(load_default=False)
    allow_split = fields.Boolean(load_default=True)

    def load(self, data, *, many=None, partial=None, unknown=None):  # noqa: ANN001, ANN201 (marshmallow's)
        """A well-formed order body (the usual one) is read without marshmallow's walk of the
        nested fields (a tenth of an order's Python); anything else, or any option, goes through
        marshmallow, which says what is wrong exactly as before. `tests/api/test_order_body.py`
        holds both readings equal."""
        if many is None and partial is None and unknown is None:
            loaded = well_formed_order(data)
            if loaded is not None:
                return loaded
        return super().load(data, many=many, partial=partial, unknown=unknown)


_SHIP_TO = {  # ShipToSchema's fields in order: (required, shortest, longest)
    "name": (True, 1, 200),
    "address1": (True, 1, 200),
    "address2": (False, 0, 200),
    "city": (True, 1, 100),
    "region": (False, 0, 100),
    "postal_code": (True, 1, 20),
    "country": (True, 2, 2),
    "phone": (False, 0, 40),
}
_SHIP_TO_REQUIRED = frozenset(name for name, (required, _, _) in _SHIP_TO.items() if required)
_ORDER_KEYS = frozenset(("reference", "lines", "ship_to", "allow_partial", "allow_split"))
_ORDER_REQUIRED = frozenset(("reference", "lines", "ship_to"))
_LINE_KEYS = frozenset(("retailer_sku", "quantity"))


def well_formed_order(data: object) -> dict | None:
    """What `OrderCreateSchema().load(data)` returns when every field is present, typed and in
    range as the schema requires (strings as strings, integers as integers, booleans as
    booleans); None for anything else, which marshmallow then reads and refuses or coerces."""
    if type(data) is not dict or not (_ORDER_REQUIRED <= data.keys() <= _ORDER_KEYS):
        return None
    reference, lines, ship_to = data["reference"], data["lines"], data["ship_to"]
    allow_partial, allow_split = data.get("allow_partial", False), data.get("allow_split", True)
    if not (
        type(reference) is str
        and 1 <= len(reference) <= 100
        and type(lines) is list
        and 1 <= len(lines) <= 200
        and type(ship_to) is dict
        and type(allow_partial) is bool
        and type(allow_split) is bool
        and _SHIP_TO_REQUIRED <= ship_to.keys() <= _SHIP_TO.keys()
    ):
        return None
    loaded_lines = []
    for line in lines:
        if type(line) is not dict or line.keys() != _LINE_KEYS:
            return None
        sku, quantity = line["retailer_sku"], line["quantity"]
        if not (
            type(sku) is str and 1 <= len(sku) <= 100 and type(quantity) is int and 1 <= quantity <= 1_000_000
        ):
            return None
        loaded_lines.append({"retailer_sku": sku, "quantity": quantity})
    loaded_ship_to = {}
    for name, (_, shortest, longest) in _SHIP_TO.items():
        if name in ship_to:
            value = ship_to[name]
            if type(value) is not str or not shortest <= len(value) <= longest:
                return None
            loaded_ship_to[name] = value
    return {
        "reference": reference,
        "lines": loaded_lines,
        "ship_to": loaded_ship_to,
        "allow_partial": allow_partial,
        "allow_split": allow_split,
    }


class OrderCancelSchema(Schema):
    class Meta:
        unknown = RAISE

    lines = fields.List(fields.Nested(LineQuantityInSchema), validate=validate.Length(1, 200))
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class ReturnCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    lines = fields.List(fields.Nested(LineQuantityInSchema), required=True, validate=validate.Length(1, 200))
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class RerouteSchema(Schema):
    class Meta:
        unknown = RAISE

    vendor_variant_id = fields.Integer(
        strict=True,
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "the source to move to; omitted: the best sources by routing"},
    )


class PurchaseOrderLineStateSchema(Schema):
    id = fields.Integer()
    purchase_order_id = fields.Integer(attribute="po_id")
    vendor_id = fields.Integer()
    vendor_variant_id = fields.Integer(attribute="variant_id")
    quantity = fields.Integer(attribute="ordered")
    cancelled = fields.Integer()
    rejected = fields.Integer()
    shipped = fields.Integer()
    returned = fields.Integer()
    status = fields.String()
    acknowledged_at = fields.DateTime(allow_none=True)


def _sum(name: str):
    return fields.Function(lambda line: sum(getattr(pl, name) for pl in line.po_lines))


class OrderLineSchema(Schema):
    id = fields.Integer()
    line_no = fields.Integer()
    retailer_sku = fields.String()
    requested = fields.Integer()
    accepted = fields.Integer()
    cancelled = fields.Function(lambda line: sum(pl.cancelled + pl.rejected for pl in line.po_lines))
    shipped = _sum("shipped")
    returned = _sum("returned")
    open = fields.Function(lambda line: sum(pl.unshipped for pl in line.po_lines))
    purchase_order_lines = fields.List(fields.Nested(PurchaseOrderLineStateSchema), attribute="po_lines")
    flags = fields.List(
        fields.Nested(FlagSchema), attribute="open_flags", metadata={"description": "open flags"}
    )


class OrderPurchaseOrderSchema(Schema):
    id = fields.Integer()
    vendor_id = fields.Integer()
    status = fields.String()
    line_ids = fields.Function(lambda po: [line.id for line in po.lines])


class UnfilledSchema(Schema):
    line_id = fields.Integer(attribute="id")
    retailer_sku = fields.String()
    requested = fields.Integer()
    accepted = fields.Integer()


class OrderSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    status = fields.String()
    allow_partial = fields.Boolean()
    allow_split = fields.Boolean()
    ship_to = fields.Dict()
    lines = fields.List(fields.Nested(OrderLineSchema))
    purchase_orders = fields.List(fields.Nested(OrderPurchaseOrderSchema))
    unfilled = fields.Function(
        lambda order: UnfilledSchema(many=True).dump(
            [line for line in order.lines if line.accepted < line.requested]
        )
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


_FLAGS = FlagSchema(many=True)


def order_body(order) -> dict:  # noqa: ANN001 (an Order: the API layer does not import models)
    """`OrderSchema().dump(order)`, written out: the 201 of every placed order is built here without
    walking the schema's nested fields (a third of the order's Python time), and the tests hold it
    equal to the schema's answer to GET /api/v1/orders/<id> for the same order."""
    lines = order.lines
    return {
        "id": order.id,
        "reference": order.reference,
        "status": order.status,
        "allow_partial": order.allow_partial,
        "allow_split": order.allow_split,
        "ship_to": dict(order.ship_to),
        "lines": [_line_body(line) for line in lines],
        "purchase_orders": [
            {
                "id": po.id,
                "vendor_id": po.vendor_id,
                "status": po.status,
                "line_ids": [pl.id for pl in po.lines],
            }
            for po in order.purchase_orders
        ],
        "unfilled": [
            {
                "line_id": line.id,
                "retailer_sku": line.retailer_sku,
                "requested": line.requested,
                "accepted": line.accepted,
            }
            for line in lines
            if line.accepted < line.requested
        ],
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


def _line_body(line) -> dict:  # noqa: ANN001
    po_lines = line.po_lines
    return {
        "id": line.id,
        "line_no": line.line_no,
        "retailer_sku": line.retailer_sku,
        "requested": line.requested,
        "accepted": line.accepted,
        "cancelled": sum(pl.cancelled + pl.rejected for pl in po_lines),
        "shipped": sum(pl.shipped for pl in po_lines),
        "returned": sum(pl.returned for pl in po_lines),
        "open": sum(pl.unshipped for pl in po_lines),
        "purchase_order_lines": [
            {
                "id": pl.id,
                "purchase_order_id": pl.po_id,
                "vendor_id": pl.vendor_id,
                "vendor_variant_id": pl.variant_id,
                "quantity": pl.ordered,
                "cancelled": pl.cancelled,
                "rejected": pl.rejected,
                "shipped": pl.shipped,
                "returned": pl.returned,
                "status": pl.status,
                "acknowledged_at": None if pl.acknowledged_at is None else pl.acknowledged_at.isoformat(),
            }
            for pl in po_lines
        ],
        "flags": _FLAGS.dump(line.open_flags) if line.open_flags else [],
    }


class OrderListSchema(Schema):
    data = fields.List(fields.Nested(OrderSchema))
    next_cursor = fields.String(allow_none=True)


class ReturnCreatedSchema(Schema):
    data = fields.List(fields.Nested(ReturnSchema))
