"""The retailer's event log by cursor."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.pagination import decode_cursor
from api_common.reads import event_log_page
from retailer_api.schemas import EventArgs, EventListSchema

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Event log")


@blp.get("")
@secured(blp, "orders:read")
@blp.arguments(EventArgs, location="query")
@blp.response(200, EventListSchema)
def list_events(args: dict):
    """Events after a cursor, oldest first; keep the returned cursor to resume"""
    after = decode_cursor(args["cursor"], bigint=True)  # event sequence numbers
    return event_log_page(after=after, limit=args["limit"], types=args.get("type"))
