"""The vendor's event log by cursor: what the hub told (or would push to) the vendor's systems."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate

from api_common.edge import Schema
from api_common.pagination import PageArgs, decode_cursor
from api_common.reads import event_log_page
from vendor_portal.api.common import vendor as vendor_guard

blp = Blueprint("vendor_events", __name__, url_prefix="/vendor-api/v1", description="Vendor event log")

VENDOR_EVENT_TYPES = (
    "po.created",
    "po.cancelled",
    "po.ack_overdue",
    "return.opened",
    "feed.held",
    "feed.stale",
    "hold.placed",
    "catalog.held",
)


class VendorEventSchema(Schema):
    id = fields.String()
    type = fields.String(metadata={"description": "e.g. " + ", ".join(VENDOR_EVENT_TYPES)})
    created_at = fields.DateTime()
    data = fields.Dict()


class VendorEventListSchema(Schema):
    data = fields.List(fields.Nested(VendorEventSchema))
    next_cursor = fields.String(metadata={"description": "always given: keep it to resume"})


class VendorEventArgs(PageArgs):
    type = fields.List(
        fields.String(validate=validate.Length(1, 64)), metadata={"description": "only these types"}
    )


@blp.get("/events")
@vendor_guard(blp, "purchase_orders:read")
@blp.arguments(VendorEventArgs, location="query")
@blp.response(200, VendorEventListSchema)
def list_events(args: dict):
    """Events after a cursor, oldest first; keep the returned cursor to resume"""
    after = decode_cursor(args["cursor"])
    return event_log_page(after=after, limit=args["limit"], types=args.get("type"))
