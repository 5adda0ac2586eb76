"""The vendor's catalog: list, read and put variants with their content."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.catalog import services as catalog
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.products.variants import save_variant
from vendor_portal.api.common import vendor as vendor_guard
from vendor_portal.api.schemas import (
    OwnVariantListArgs,
    OwnVariantListSchema,
    OwnVariantSchema,
    VariantPutSchema,
)

blp = Blueprint("vendor_catalog", __name__, url_prefix="/vendor-api/v1", description="Vendor catalog")


def vendor(scope: str):
    return vendor_guard(blp, scope)


@blp.get("/variants")
@vendor("inventory:write")
@blp.arguments(OwnVariantListArgs, location="query")
@blp.response(200, OwnVariantListSchema)
def list_variants(args: dict):
    """List the vendor's variants in creation order; `q` searches sku, title and GTIN"""
    found = catalog.list_own_variants(
        db.session,
        vendor_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
        search=args.get("q"),
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])


@blp.get("/variants/<string:vendor_sku>")
@vendor("inventory:write")
@blp.response(200, OwnVariantSchema)
def get_variant(vendor_sku: str):
    """Show one variant with its content"""
    return catalog.get_variant(db.session, vendor_id=current_caller().org_id, vendor_sku=vendor_sku)


@blp.put("/variants/<string:vendor_sku>")
@vendor("inventory:write")
@blp.arguments(VariantPutSchema)
@blp.response(200, OwnVariantSchema)
@blp.alt_response(201, schema=OwnVariantSchema, description="The variant was created")
def put_variant(body: dict, vendor_sku: str):
    """Create or replace a variant; retailers whose items it sources get `catalog.changed`"""
    with transaction(db.session):
        variant, created, _ = save_variant(
            db.session,
            vendor_id=current_caller().org_id,
            vendor_sku=vendor_sku,
            values=body,
            replace=True,
            now=utcnow(),
        )
    return variant, 201 if created else 200
