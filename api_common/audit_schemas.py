"""The contract of the audit log, the same on both APIs."""

from __future__ import annotations

from marshmallow import fields

from api_common.edge import Schema
from api_common.pagination import PageArgs


class AuditLogArgs(PageArgs):
    pass


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(metadata={"description": "`user <email>` or `API client <client_id>`"})
    action = fields.String(metadata={"description": "e.g. connection.terms_changed, api_client.created"})
    subject = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class AuditLogSchema(Schema):
    data = fields.List(fields.Nested(AuditEntrySchema))
    next_cursor = fields.String(allow_none=True)
