"""The webhook part of the retailer API's contract: endpoints and deliveries."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from api_common.edge import Schema
from api_common.pagination import PageArgs

EVENTS = fields.List(
    fields.String(validate=validate.Length(1, 64)),
    validate=validate.Length(1, 50),
    metadata={"description": 'event types to receive: exact names, "area.*" or "*"'},
)

BUFFER_DOC = (
    "units held back from this channel's availability figures; null (the default): automatic, none "
    "on the fixed availability model and, on the predictive one, what outside sales will probably "
    "take over the channel's throttle interval (min_interval_seconds)"
)


class WebhookEndpointCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(required=True, validate=validate.Length(1, 2000))
    events = fields.List(
        fields.String(validate=validate.Length(1, 64)),
        required=True,
        validate=validate.Length(1, 50),
        metadata={"description": 'event types to receive: exact names, "area.*" or "*"'},
    )
    description = fields.String(load_default="", validate=validate.Length(max=200))
    min_interval_seconds = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(0, 86_400),
        metadata={"description": "throttle: at most one coalesced availability push per interval (0: none)"},
    )
    buffer = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(0, 1_000_000),
        metadata={"description": BUFFER_DOC},
    )
    max_quantity = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(0, 1_000_000_000),
        metadata={"description": "cap on this channel's availability figures (null: no cap)"},
    )


class WebhookEndpointPatchSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(validate=validate.Length(1, 2000))
    events = EVENTS
    description = fields.String(validate=validate.Length(max=200))
    min_interval_seconds = fields.Integer(strict=True, validate=validate.Range(0, 86_400))
    buffer = fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(0, 1_000_000),
        metadata={"description": BUFFER_DOC},
    )
    max_quantity = fields.Integer(allow_none=True, strict=True, validate=validate.Range(0, 1_000_000_000))
    active = fields.Boolean()


class WebhookEndpointSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    min_interval_seconds = fields.Integer()
    buffer = fields.Integer(allow_none=True, metadata={"description": BUFFER_DOC})
    max_quantity = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    last_push_at = fields.DateTime(allow_none=True)
    previous_secret_expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "until then the previous secret also signs"}
    )


class WebhookEndpointWithSecretSchema(WebhookEndpointSchema):
    secret = fields.String(metadata={"description": "the signing secret: shown only now, keep it"})


class WebhookEndpointListSchema(Schema):
    data = fields.List(fields.Nested(WebhookEndpointSchema))
    next_cursor = fields.String(allow_none=True)


class DeliveryArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(["pending", "delivered", "dead"]))


class DeliverySchema(Schema):
    id = fields.Integer(metadata={"description": "the Dropnet-Delivery header of every attempt"})
    endpoint_id = fields.Integer()
    event_id = fields.Function(
        lambda d: None if d.event_id is None else str(d.event_id),
        metadata={"description": "null for a coalesced availability push"},
    )
    type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    retry_until = fields.DateTime()
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class DeliveryListSchema(Schema):
    data = fields.List(fields.Nested(DeliverySchema))
    next_cursor = fields.String(allow_none=True)
