"""Vendor variants, stock pushes and feed runs."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_smorest import Blueprint

from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidFeed, InvalidInput
from network.extensions import db
from network.feeds import queue
from network.feeds import services as feeds
from network.feeds.models import QUEUED, REJECTED
from network.feeds.parsing import FeedFormat
from network.feeds.pulling import hold_share
from network.feeds.push import read_push_json
from network.feeds.services import FeedReceipt
from network.partners.audit import Actor
from vendor_portal.api.common import load
from vendor_portal.api.common import vendor as vendor_guard
from vendor_portal.api.schemas import (
    FeedRunListArgs,
    FeedRunListSchema,
    FeedRunSchema,
    InventoryCsvArgs,
    InventoryPushSchema,
)

blp = Blueprint("vendor_inventory", __name__, url_prefix="/vendor-api/v1", description="Vendor API")

CSV_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "iso-8859-1": "latin-1",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
}


def vendor(scope: str):
    return vendor_guard(blp, scope)


INVENTORY_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": InventoryPushSchema},
        "text/csv": {"schema": {"type": "string", "description": "header row with sku,quantity[,...]"}},
    },
}


QUEUED_DOC = (
    "The body is larger than the hub applies while you wait (HUB_ASYNC_PUSH_BYTES, 1 MiB by default), "
    "or an earlier push of yours is still queued: it is kept and applied by the worker in arrival "
    "order. Poll the run at `Location` until its status is no longer `queued`; a JSON body's `mode` "
    "and `basis` show once the worker has read it."
)
LOCATION_HEADER = {"Location": {"description": "the feed run to poll", "schema": {"type": "string"}}}


@blp.post("/inventory")
@vendor("inventory:write")
@blp.doc(requestBody=INVENTORY_BODY)
@blp.response(200, FeedRunSchema)
@blp.alt_response(202, schema=FeedRunSchema, description=QUEUED_DOC, headers=LOCATION_HEADER)
def push_inventory():
    """Push stock counts as JSON or as a CSV body (`mode`, `basis`, `as_of` as query parameters)"""
    vendor_id = current_caller().org_id
    data = request.get_data(cache=False)
    threshold = queue.async_threshold(current_app.config)
    large = len(data) > threshold
    if request.mimetype == "text/csv":
        args = load(InventoryCsvArgs(), request.args.to_dict())
        charset = (request.mimetype_params.get("charset") or "utf-8").lower()
        if charset not in CSV_ENCODINGS:
            raise InvalidInput(
                f"unsupported charset {charset!r}", errors={"charset": ["use utf-8 or latin-1"]}
            )
        fmt = FeedFormat(kind="csv", encoding=CSV_ENCODINGS[charset], delimiter=args.get("delimiter"))
        mode, basis, as_of, records = args["mode"], args["basis"], args.get("as_of"), None
    elif request.mimetype == "application/json":
        fmt = FeedFormat(kind="json")
        # A large body is not even decoded here: the worker reads it, and reports a bad one on the run.
        document = None if large else read_push_json(data)
        mode, basis, as_of, records = (
            (None, None, None, None)
            if document is None
            else (document.mode, document.basis, document.as_of, document.rows)
        )
    else:
        raise InvalidInput("send application/json or text/csv", errors={"Content-Type": ["unsupported"]})
    receipt = FeedReceipt(
        vendor_id=vendor_id,
        transport="push",
        mode=mode,
        basis=basis,
        data=data,
        content_type=request.content_type or "",
        fmt=fmt,
        as_of=as_of,
        records=records,
    )
    with transaction(db.session):
        if queue.must_queue(db.session, vendor_id=vendor_id, size=len(data), threshold=threshold):
            run = queue.queue_receipt(db.session, receipt, now=utcnow())
        else:
            run = feeds.receive_feed(
                db.session, receipt, now=utcnow(), hold_share=hold_share(current_app.config)
            )
    return answer_run(run)


def answer_run(run):
    """202 with the run's address for a queued run; else the run, or 422 when nothing could be read."""
    if run.status == QUEUED:
        return run, 202, {"Location": url_for("vendor_inventory.get_feed_run", run_id=run.id)}
    if run.status == REJECTED and run.rows_seen == 0 and run.message:
        # The body could not be read at all; the run is on record, the stock untouched.
        raise InvalidFeed(f"feed run {run.id} rejected: {run.message}", feed_run_id=run.id)
    return run


@blp.get("/feed-runs")
@vendor("inventory:write")
@blp.arguments(FeedRunListArgs, location="query")
@blp.response(200, FeedRunListSchema)
def list_feed_runs(args: dict):
    """List feed runs, newest first"""
    before = decode_cursor(args["cursor"], default=0) or None
    runs = feeds.list_runs(
        db.session, vendor_id=current_caller().org_id, after_id=before, limit=args["limit"]
    )
    return page(runs, last_position=runs[-1].id if runs else None, full=len(runs) == args["limit"])


@blp.get("/feed-runs/<int:run_id>")
@vendor("inventory:write")
@blp.response(200, FeedRunSchema)
def get_feed_run(run_id: int):
    """Show a feed run with its row errors"""
    return feeds.get_run(db.session, run_id, vendor_id=current_caller().org_id)


@blp.post("/feed-runs/<int:run_id>/apply")
@vendor("inventory:write")
@blp.response(200, FeedRunSchema)
def apply_feed_run(run_id: int):
    """Apply a held feed run: the vendor confirms the file is right (409 if a newer count came since)"""
    with transaction(db.session):
        caller = current_caller()
        return feeds.apply_held_run(
            db.session, run_id, vendor_id=caller.org_id, actor=Actor(client_pk=caller.client_pk), now=utcnow()
        )


@blp.post("/feed-runs/<int:run_id>/discard")
@vendor("inventory:write")
@blp.response(200, FeedRunSchema)
def discard_feed_run(run_id: int):
    """Discard a held feed run: nothing of it is ever applied"""
    with transaction(db.session):
        caller = current_caller()
        return feeds.discard_held_run(
            db.session, run_id, vendor_id=caller.org_id, actor=Actor(client_pk=caller.client_pk), now=utcnow()
        )
