"""Connected vendors' variants, and the retailer's own items with their sources."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.pagination import PageArgs, decode_cursor, page
from network.availability.services import publish_changes
from network.catalog import services as catalog
from network.catalog.services import SourceSpec
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.partners.audit import Actor
from retailer_api.schemas import ItemListSchema, ItemPutSchema, ItemSchema, VariantListArgs, VariantListSchema

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Catalog and retailer items")


@blp.get("/catalog/vendor-variants")
@secured(blp, "catalog:read")
@blp.arguments(VariantListArgs, location="query")
@blp.response(200, VariantListSchema)
def list_vendor_variants(args: dict):
    """List the variants offered by connected vendors"""
    variants = catalog.list_variants_for_retailer(
        db.session,
        retailer_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
        vendor_id=args.get("vendor_id"),
    )
    return page(
        variants, last_position=variants[-1].id if variants else None, full=len(variants) == args["limit"]
    )


@blp.put("/items/<string:retailer_sku>")
@secured(blp, "catalog:write")
@blp.arguments(ItemPutSchema)
@blp.response(200, ItemSchema)
@blp.alt_response(201, schema=ItemSchema, description="The item was created")
def put_item(body: dict, retailer_sku: str):
    """Create or replace a retailer item and its sources"""
    now = utcnow()
    caller = current_caller()
    # A GTIN left out keeps the item's: only a given one (or null) is passed on.
    gtin = {"gtin": body["gtin"]} if "gtin" in body else {}
    with transaction(db.session):
        item, created = catalog.put_item(
            db.session,
            retailer_id=caller.org_id,
            retailer_sku=retailer_sku,
            title=body.get("title"),
            sources=[SourceSpec(s["vendor_variant_id"], s["priority"]) for s in body["sources"]],
            now=now,
            actor=Actor(client_pk=caller.client_pk),
            **gtin,
        )
        publish_changes(db.session, [item.id], now=now)
    return item, 201 if created else 200


@blp.get("/items")
@secured(blp, "catalog:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ItemListSchema)
def list_items(args: dict):
    """List the retailer's items with their sources"""
    items = catalog.list_items(
        db.session,
        retailer_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(items, last_position=items[-1].id if items else None, full=len(items) == args["limit"])


@blp.get("/items/<string:retailer_sku>")
@secured(blp, "catalog:read")
@blp.response(200, ItemSchema)
def get_item(retailer_sku: str):
    """Show one item with its sources"""
    return catalog.get_item(db.session, retailer_id=current_caller().org_id, retailer_sku=retailer_sku)
