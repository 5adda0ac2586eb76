"""Feed configurations: pull, upload and push feeds, pulling now, previews and uploads."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.clock import utcnow
from network.db import transaction
from network.errors import Conflict, InvalidInput
from network.extensions import db
from network.feeds import configs, queue
from network.feeds.preview import preview_feed
from network.feeds.pulling import feed_credentials, fetch_sample, hold_share, pull_now, pull_settings
from network.uploads import upload_feeds
from vendor_portal.api.common import vendor as vendor_guard
from vendor_portal.api.feed_schemas import (
    FeedCreateSchema,
    FeedListArgs,
    FeedListSchema,
    FeedPatchSchema,
    FeedPreviewSchema,
    FeedSchema,
)
from vendor_portal.api.inventory import LOCATION_HEADER, QUEUED_DOC, answer_run
from vendor_portal.api.schemas import FeedRunSchema

blp = Blueprint("vendor_feeds", __name__, url_prefix="/vendor-api/v1/feeds", description="Feeds")

FILE_BODY = {
    "content": {
        kind: {"schema": {"type": "string", "minLength": 1, "description": "the file's bytes"}}
        for kind in ("text/csv", "application/json", "application/edi-x12", "application/octet-stream")
    },
}


def vendor(scope: str):
    return vendor_guard(blp, scope)


@blp.get("")
@vendor("inventory:write")
@blp.arguments(FeedListArgs, location="query")
@blp.response(200, FeedListSchema)
def list_feeds(args: dict):
    """List feed configurations"""
    found = configs.list_feeds(
        db.session,
        vendor_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])


@blp.post("")
@vendor("inventory:write")
@blp.arguments(FeedCreateSchema)
@blp.response(201, FeedSchema)
def create_feed(body: dict):
    """Configure a feed: transport, URL and auth, interval, format and mapping, mode, basis"""
    with transaction(db.session):
        return configs.create_feed(
            db.session,
            vendor_id=current_caller().org_id,
            values=body,
            credentials=feed_credentials(current_app.config),
            pull_settings=pull_settings(current_app.config),
            now=utcnow(),
        )


@blp.get("/<int:feed_id>")
@vendor("inventory:write")
@blp.response(200, FeedSchema)
def get_feed(feed_id: int):
    """Show a feed configuration and its pull state (credentials are never shown)"""
    return configs.get_feed(db.session, feed_id, vendor_id=current_caller().org_id)


@blp.patch("/<int:feed_id>")
@vendor("inventory:write")
@blp.arguments(FeedPatchSchema)
@blp.response(200, FeedSchema)
def update_feed(body: dict, feed_id: int):
    """Change some settings of a feed"""
    with transaction(db.session):
        return configs.update_feed(
            db.session,
            feed_id,
            vendor_id=current_caller().org_id,
            changes=body,
            credentials=feed_credentials(current_app.config),
            pull_settings=pull_settings(current_app.config),
            now=utcnow(),
        )


@blp.delete("/<int:feed_id>")
@vendor("inventory:write")
@blp.response(204)
def delete_feed(feed_id: int):
    """Delete a feed (its runs stay in the history)"""
    with transaction(db.session):
        configs.delete_feed(db.session, feed_id, vendor_id=current_caller().org_id)


@blp.post("/<int:feed_id>/run")
@vendor("inventory:write")
@blp.response(200, FeedRunSchema)
def run_feed(feed_id: int):
    """Pull a feed now and answer its run (a failed fetch is a `failed` run with the reason)"""
    run = pull_now(db.session, current_app.config, feed_id, vendor_id=current_caller().org_id)
    if run is None:
        raise Conflict(f"feed {feed_id} was deleted while it was being pulled")
    return run


@blp.post("/<int:feed_id>/preview")
@vendor("inventory:write")
@blp.doc(requestBody={**FILE_BODY, "required": False})
@blp.response(200, FeedPreviewSchema)
def preview(feed_id: int):
    """Parse a sample (the body, else a test fetch of a pull feed's URL) and show what would change, applying nothing"""
    vendor_id = current_caller().org_id
    data = request.get_data(cache=False) or fetch_sample(
        db.session, current_app.config, feed_id, vendor_id=vendor_id
    )
    with transaction(db.session):
        feed = configs.get_feed(db.session, feed_id, vendor_id=vendor_id)
        return preview_feed(db.session, feed, data, now=utcnow(), hold_share=hold_share(current_app.config))


@blp.post("/<int:feed_id>/upload")
@vendor("inventory:write")
@blp.doc(requestBody={**FILE_BODY, "required": True})
@blp.response(200, FeedRunSchema)
@blp.alt_response(202, schema=FeedRunSchema, description=QUEUED_DOC, headers=LOCATION_HEADER)
def upload(feed_id: int):
    """Send a file to an upload feed; it is read with the feed's format and mapping"""
    vendor_id = current_caller().org_id
    data = request.get_data(cache=False)
    if not data:
        raise InvalidInput("the body is empty; send the feed file", errors={"_body": ["empty"]})
    with transaction(db.session):
        if queue.must_queue(
            db.session,
            vendor_id=vendor_id,
            size=len(data),
            threshold=queue.async_threshold(current_app.config),
        ):
            receipt = upload_feeds.upload_receipt(
                db.session, feed_id, vendor_id=vendor_id, data=data, content_type=request.content_type or ""
            )
            run = queue.queue_receipt(db.session, receipt, now=utcnow())
        else:
            run = upload_feeds.receive_upload(
                db.session,
                feed_id,
                vendor_id=vendor_id,
                data=data,
                content_type=request.content_type or "",
                now=utcnow(),
                hold_share=hold_share(current_app.config),
            )
    return answer_run(run)
