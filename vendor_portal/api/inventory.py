"""Vendor variants, stock pushes and feed runs."""

from __future__ import annotations

from flask import current_app, json, request
from flask_smorest import Blueprint

from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.availability.services import items_sourcing, publish_changes
from network.catalog import services as catalog
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidFeed, InvalidInput
from network.extensions import db
from network.feeds import services as feeds
from network.feeds.models import REJECTED
from network.feeds.parsing import FeedFormat
from network.feeds.pulling import hold_share
from network.feeds.services import FeedReceipt
from vendor_portal.api.common import load
from vendor_portal.api.common import vendor as vendor_guard
from vendor_portal.api.schemas import (
    FeedRunListArgs,
    FeedRunListSchema,
    FeedRunSchema,
    InventoryCsvArgs,
    InventoryPushSchema,
    OwnVariantSchema,
    VariantPutSchema,
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


@blp.put("/variants/<string:vendor_sku>")
@vendor("inventory:write")
@blp.arguments(VariantPutSchema)
@blp.response(200, OwnVariantSchema)
@blp.alt_response(201, schema=OwnVariantSchema, description="The variant was created")
def put_variant(body: dict, vendor_sku: str):
    """Create or update a variant"""
    now = utcnow()
    with transaction(db.session):
        variant, created = catalog.upsert_variant(
            db.session, vendor_id=current_caller().org_id, vendor_sku=vendor_sku, now=now, **body
        )
        publish_changes(db.session, items_sourcing(db.session, [variant.id]), now=now)
    return variant, 201 if created else 200


INVENTORY_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": InventoryPushSchema},
        "text/csv": {"schema": {"type": "string", "description": "header row with sku,quantity[,...]"}},
    },
}


@blp.post("/inventory")
@vendor("inventory:write")
@blp.doc(requestBody=INVENTORY_BODY)
@blp.response(200, FeedRunSchema)
def push_inventory():
    """Push stock counts as JSON or as a CSV body (`mode`, `basis`, `as_of` as query parameters)"""
    vendor_id = current_caller().org_id
    data = request.get_data(cache=False)
    if request.mimetype == "text/csv":
        args = load(InventoryCsvArgs(), request.args.to_dict())
        charset = (request.mimetype_params.get("charset") or "utf-8").lower()
        if charset not in CSV_ENCODINGS:
            raise InvalidInput(
                f"unsupported charset {charset!r}", errors={"charset": ["use utf-8 or latin-1"]}
            )
        fmt = FeedFormat(kind="csv", encoding=CSV_ENCODINGS[charset], delimiter=args.get("delimiter"))
        records = None
    elif request.mimetype == "application/json":
        args = load(InventoryPushSchema(), _json_body(data))
        fmt = FeedFormat(kind="json")
        records = args["rows"]
    else:
        raise InvalidInput("send application/json or text/csv", errors={"Content-Type": ["unsupported"]})
    receipt = FeedReceipt(
        vendor_id=vendor_id,
        transport="push",
        mode=args["mode"],
        basis=args["basis"],
        data=data,
        content_type=request.content_type or "",
        fmt=fmt,
        as_of=args.get("as_of"),
        records=records,
    )
    with transaction(db.session):
        run = feeds.receive_feed(db.session, receipt, now=utcnow(), hold_share=hold_share(current_app.config))
    if run.status == REJECTED and run.rows_seen == 0 and run.message:
        # The body could not be read at all; the run is on record, the stock untouched.
        raise InvalidFeed(f"feed run {run.id} rejected: {run.message}", feed_run_id=run.id)
    return run


def _json_body(data: bytes) -> object:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise InvalidInput(f"the body is not valid JSON: {exc}", errors={"_body": ["invalid JSON"]}) from None


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
        return feeds.apply_held_run(db.session, run_id, vendor_id=current_caller().org_id, now=utcnow())


@blp.post("/feed-runs/<int:run_id>/discard")
@vendor("inventory:write")
@blp.response(200, FeedRunSchema)
def discard_feed_run(run_id: int):
    """Discard a held feed run: nothing of it is ever applied"""
    with transaction(db.session):
        return feeds.discard_held_run(db.session, run_id, vendor_id=current_caller().org_id, now=utcnow())
