"""The vendor API's feed configuration contract: explicit input and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from api_common.edge import Schema
from api_common.openapi import SCHEMA_DOCS
from api_common.pagination import PageArgs
from network.feeds.credentials import AUTH_PARAMETERS
from network.feeds.mapping import FIELDS
from network.feeds.models import FEED_TRANSPORTS
from vendor_portal.api.schemas import RowErrorSchema

MAX_INTERVAL_MINUTES = 7 * 24 * 60


class FeedAuthSchema(Schema):
    """Credentials for a pull feed; stored encrypted and never returned."""

    kind = fields.String(required=True, validate=validate.OneOf(sorted(AUTH_PARAMETERS)))
    username = fields.String(metadata={"description": "basic"})
    password = fields.String(metadata={"description": "basic"}, load_only=True)
    token = fields.String(metadata={"description": "bearer"}, load_only=True)
    name = fields.String(metadata={"description": "header: the header's name, e.g. X-Api-Key"})
    value = fields.String(metadata={"description": "header: the header's value"}, load_only=True)
    private_key = fields.String(
        metadata={"description": "ssh_key (sftp:// feeds): an OpenSSH or PEM private key"}, load_only=True
    )


# One shape per kind, as network.feeds.credentials.check_auth takes them: exactly that kind's
# parameters, each one line; a basic username without ':'; a header name as HTTP allows.
_ONE_LINE = {"type": "string", "minLength": 1, "maxLength": 4000, "pattern": "^[^\\r\\n]+$"}
_AUTH_FIELDS = {
    "username": {**_ONE_LINE, "pattern": "^[^:\\r\\n]+$"},
    "password": {**_ONE_LINE, "writeOnly": True},
    "token": {**_ONE_LINE, "writeOnly": True},
    "name": {"type": "string", "pattern": "^X-[A-Za-z0-9-]{1,60}$", "description": "e.g. X-Api-Key"},
    "value": {**_ONE_LINE, "writeOnly": True},
    "private_key": {
        "type": "string",
        "maxLength": 16000,
        "pattern": "PRIVATE KEY",
        "writeOnly": True,
        "description": "OpenSSH or PEM",
    },
}
SCHEMA_DOCS["FeedAuth"] = {
    "description": "credentials for a pull feed; stored encrypted and never returned",
    "oneOf": [
        {
            "type": "object",
            "required": ["kind", *names],
            "properties": {"kind": {"type": "string", "enum": [kind]}, **{n: _AUTH_FIELDS[n] for n in names}},
            "additionalProperties": False,
        }
        for kind, names in sorted(AUTH_PARAMETERS.items())
    ],
}


class FeedFormatSchema(Schema):
    kind = fields.String(validate=validate.OneOf(["csv", "json", "x12"]))
    mapping = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "our field -> their column or key, e.g. {'quantity': 'QTY AVAIL'} "
            "(x12 feeds map only sku and gtin)",
            "properties": {name: {"type": "string", "minLength": 1} for name in FIELDS},
            "additionalProperties": False,
        },
    )
    delimiter = fields.String(allow_none=True, validate=validate.Length(equal=1))
    # Any Python text codec name is taken; the document lists the ones vendors' files use.
    encoding = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"enum": ["utf-8", "utf-8-sig", "latin-1", "iso-8859-15", "cp1252", "utf-16"]},
    )
    filter = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "keep rows whose column equals"},
    )
    sum_duplicates = fields.Boolean()
    decimal_quantities = fields.String(validate=validate.OneOf(["reject", "floor"]))


class FeedWriteSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    transport = fields.String(validate=validate.OneOf(FEED_TRANSPORTS))
    url = fields.String(allow_none=True, validate=validate.Length(max=2000))
    auth = fields.Nested(FeedAuthSchema, allow_none=True)
    interval_minutes = fields.Integer(validate=validate.Range(1, MAX_INTERVAL_MINUTES))
    format = fields.Nested(FeedFormatSchema)
    mode = fields.String(validate=validate.OneOf(["full", "delta"]))
    basis = fields.String(validate=validate.OneOf(["available", "on_hand"]))
    active = fields.Boolean()


class FeedCreateSchema(FeedWriteSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"pattern": "\\S"})
    transport = fields.String(required=True, validate=validate.OneOf(FEED_TRANSPORTS))
    interval_minutes = fields.Integer(load_default=60, validate=validate.Range(1, MAX_INTERVAL_MINUTES))
    mode = fields.String(load_default="full", validate=validate.OneOf(["full", "delta"]))
    basis = fields.String(load_default="available", validate=validate.OneOf(["available", "on_hand"]))
    active = fields.Boolean(load_default=True)


class FeedPatchSchema(FeedWriteSchema):
    pass


class FeedFormatOutSchema(Schema):
    kind = fields.String()
    mapping = fields.Dict()
    delimiter = fields.String(allow_none=True)
    encoding = fields.String()
    filter = fields.Dict()
    sum_duplicates = fields.Boolean()
    decimal_quantities = fields.String()


class FeedSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    transport = fields.String()
    url = fields.String(allow_none=True)
    auth_kind = fields.String()
    has_credentials = fields.Boolean()
    interval_minutes = fields.Integer()
    format = fields.Nested(FeedFormatOutSchema, attribute="format_settings")
    mode = fields.String()
    basis = fields.String()
    active = fields.Boolean()
    next_run_at = fields.DateTime(allow_none=True)
    last_run_at = fields.DateTime(allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    consecutive_failures = fields.Integer()
    last_error = fields.String(allow_none=True)
    learned_interval_minutes = fields.Integer(
        allow_none=True, metadata={"description": "the usual gap between good runs, learned from them"}
    )
    late = fields.Boolean(attribute="late_notified")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class FeedListSchema(Schema):
    data = fields.List(fields.Nested(FeedSchema))
    next_cursor = fields.String(allow_none=True)


class FeedListArgs(PageArgs):
    pass


class PreviewChangeSchema(Schema):
    sku = fields.String()
    before = fields.Dict()
    after = fields.Dict()


class FeedPreviewSchema(Schema):
    rows_seen = fields.Integer()
    rows_valid = fields.Integer(metadata={"description": "rows that would be applied"})
    rows_rejected = fields.Integer()
    would_change = fields.Integer()
    would_zero = fields.Integer(metadata={"description": "SKUs in stock that would drop to zero"})
    positive_before = fields.Integer(metadata={"description": "SKUs in stock now"})
    held = fields.Boolean(metadata={"description": "the guard would hold this file for confirmation"})
    hold_reason = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    as_of = fields.DateTime()
    changes = fields.List(fields.Nested(PreviewChangeSchema))
    errors = fields.List(fields.Nested(RowErrorSchema))
