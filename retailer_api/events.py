"""The retailer's event log by cursor."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, feed_page
from api_common.reads import replica_read
from network.outbox.services import read_events
from retailer_api.schemas import EventArgs, EventListSchema

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Event log")


@blp.get("")
@secured(blp, "orders:read")
@blp.arguments(EventArgs, location="query")
@blp.response(200, EventListSchema)
def list_events(args: dict):
    """Events after a cursor, oldest first; keep the returned cursor to resume"""
    after = decode_cursor(args["cursor"], bigint=True)  # event sequence numbers
    org_id = current_caller().org_id

    def run(session: Session) -> dict:
        events = read_events(
            session, org_id=org_id, after_seq=after, limit=args["limit"], types=args.get("type")
        )
        data = [{"id": str(e.id), "type": e.type, "created_at": e.created_at, "data": e.data} for e in events]
        return feed_page(data, last_position=events[-1].seq if events else after)

    return replica_read(run)
