"""Storefront connectors' contract (API.md 1.1): credentials go in, never come out."""

from __future__ import annotations

from marshmallow import fields, validate

from api_common.edge import IN_DB_RANGE, Schema
from network.connectors.models import PLATFORMS, STATUSES

_CREDENTIALS_DOC = (
    "Shopify: {access_token, webhook_secret}; WooCommerce: {consumer_key, consumer_secret, webhook_secret}. "
    "Encrypted at rest and never returned."
)

BUFFER_DOC = (
    "units held back from the store's figures; null (the default): automatic, none on the fixed "
    "availability model and, on the predictive one, what outside sales will probably take before "
    "the next sync can correct the store"
)


class ConnectorCreateSchema(Schema):
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    shop_url = fields.String(
        required=True,
        validate=validate.Length(1, 500),
        metadata={"description": "the store's base URL, e.g. https://example.myshopify.com"},
    )
    credentials = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": _CREDENTIALS_DOC},
    )
    location_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(1, 100),
        metadata={"description": "Shopify: the location whose inventory the hub sets (gid or number)"},
    )
    buffer = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,  # 1.5 is refused, not taken as 1 (as a webhook endpoint's buffer)
        validate=validate.Range(0, 1_000_000),
        metadata={"description": BUFFER_DOC},
    )
    max_quantity = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 1_000_000))


class ConnectorPatchSchema(Schema):
    shop_url = fields.String(validate=validate.Length(1, 500))
    credentials = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": _CREDENTIALS_DOC}
    )
    location_id = fields.String(allow_none=True, validate=validate.Length(1, 100))
    buffer = fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(0, 1_000_000),
        metadata={"description": BUFFER_DOC},
    )
    max_quantity = fields.Integer(allow_none=True, validate=validate.Range(0, 1_000_000))
    status = fields.String(
        validate=validate.OneOf(STATUSES), metadata={"description": "paused stops orders in and stock out"}
    )


class ConnectorHealthSchema(Schema):
    last_success_at = fields.DateTime(allow_none=True)
    last_error_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    backlog = fields.Integer(metadata={"description": "store updates waiting to be sent"})


class ConnectorSchema(Schema):
    id = fields.Integer()
    platform = fields.String()
    shop_url = fields.String()
    location_id = fields.String(allow_none=True)
    buffer = fields.Integer(allow_none=True, metadata={"description": BUFFER_DOC})
    max_quantity = fields.Integer(allow_none=True)
    status = fields.String()
    webhook_url = fields.String(metadata={"description": "where the store's order webhooks must be sent"})
    health = fields.Nested(ConnectorHealthSchema)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ConnectorListSchema(Schema):
    data = fields.List(fields.Nested(ConnectorSchema))
    next_cursor = fields.String(allow_none=True)


class HookAnswerSchema(Schema):
    status = fields.String(metadata={"description": "placed, unfilled, ignored, cancelled, duplicate"})
    created = fields.Boolean(metadata={"description": "false for a redelivery: nothing changed"})
    order_id = fields.Integer(allow_none=True, validate=IN_DB_RANGE)


class DriftSchema(Schema):
    retailer_sku = fields.String()
    platform = fields.Integer(
        allow_none=True, metadata={"description": "what the store shows (null: listing gone)"}
    )
    published = fields.Integer(
        allow_none=True, metadata={"description": "what the hub last set on the store"}
    )
    expected = fields.Integer(metadata={"description": "what the hub would set now (after buffer and cap)"})


class DriftListSchema(Schema):
    data = fields.List(fields.Nested(DriftSchema))
    next_cursor = fields.String(allow_none=True)
