"""What the retailer may sell now, and the log of how that changed."""

from __future__ import annotations

import dataclasses

from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.pagination import PageArgs, decode_cursor, feed_page, page
from api_common.reads import replica_read
from network.availability.reads import read_published
from network.clock import utcnow
from network.delivery.channels import explain_channels
from network.orders.explain import explain
from network.outbox.events import AvailabilityChanged
from network.outbox.services import read_events
from retailer_api.schemas import (
    AvailabilityArgs,
    AvailabilityChangeListSchema,
    AvailabilityExplanationSchema,
    AvailabilityListSchema,
)

blp = Blueprint("availability", __name__, url_prefix="/api/v1/availability", description="Availability")


@blp.get("")
@secured(blp, "availability:read")
# An instance: given the class, webargs builds a schema on every request (a tenth of a read's CPU).
@blp.arguments(AvailabilityArgs(), location="query")
@blp.response(200, AvailabilityListSchema)
def get_availability(args: dict):
    """Availability of the retailer's items: `sku` (repeatable) or all items page by page"""
    retailer_id, after_id, now = current_caller().org_id, decode_cursor(args["cursor"]), utcnow()
    items = replica_read(
        lambda session: read_published(
            session,
            retailer_id=retailer_id,
            skus=args.get("sku"),
            after_id=after_id,
            limit=args["limit"],
            now=now,
        )
    )
    return page(items, last_position=items[-1].item_id if items else None, full=len(items) == args["limit"])


@blp.get("/<string:retailer_sku>/explain")
@secured(blp, "availability:read")
@blp.response(200, AvailabilityExplanationSchema)
@blp.alt_response(404, description="No item of the caller's has this SKU")
def explain_availability(retailer_sku: str):
    """Why an item shows its figure: each source's count, committed lines, buffer, hold and staleness

    The figure is the one `GET /availability` publishes at the same moment, computed by the same code;
    `channels` is what each of the retailer's channels is shown, after its buffer (set, or automatic)
    and cap.
    """
    retailer_id, now = current_caller().org_id, utcnow()

    def run(session: Session) -> dict:
        explanation = explain(session, retailer_id=retailer_id, retailer_sku=retailer_sku, now=now)
        channels = explain_channels(session, retailer_id=retailer_id, retailer_sku=retailer_sku, now=now)
        return {**dataclasses.asdict(explanation), "channels": channels}

    return replica_read(run)


@blp.get("/changes")
@secured(blp, "availability:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, AvailabilityChangeListSchema)
def get_changes(args: dict):
    """Availability changes after a cursor, oldest first; keep the returned cursor to resume"""
    after = decode_cursor(args["cursor"], bigint=True)  # event sequence numbers
    org_id = current_caller().org_id

    def run(session: Session) -> dict:
        events = read_events(
            session,
            org_id=org_id,
            after_seq=after,
            limit=args["limit"],
            types=[AvailabilityChanged.wire_name],
        )
        data = [
            {
                "event_id": str(e.id),
                "retailer_sku": e.data["retailer_sku"],
                "available": e.data["available"],
                "previous": e.data["previous"],
                "changed_at": e.created_at,
            }
            for e in events
        ]
        return feed_page(data, last_position=events[-1].seq if events else after)

    return replica_read(run)
