"""The vendor's EDI trading-partner setup and the report of every file exchanged."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from api_common.edi_schemas import (
    EdiFileListArgs,
    EdiFileListSchema,
    EdiFileRawSchema,
    EdiPartnerSchema,
    EdiSetupSchema,
)
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.feeds.pulling import feed_credentials, pull_settings
from network.trading import files, partners
from vendor_portal.api.common import vendor as vendor_guard

blp = Blueprint(
    "vendor_edi", __name__, url_prefix="/vendor-api/v1/edi", description="EDI trading (X12 over SFTP)"
)


def vendor(scope: str):
    return vendor_guard(blp, scope)


@blp.put("")
@vendor("purchase_orders:write")
@blp.arguments(EdiSetupSchema)
@blp.response(200, EdiPartnerSchema)
def put_setup(body: dict):
    """Set up (or replace) X12 trading: ids, version, documents, separators and the SFTP mailbox"""
    with transaction(db.session):
        return partners.configure(
            db.session,
            vendor_id=current_caller().org_id,
            values=body,
            credentials=feed_credentials(current_app.config),
            hub=partners.HubIds.from_config(current_app.config),
            pull_settings=pull_settings(current_app.config),
            now=utcnow(),
        )


@blp.get("")
@vendor("purchase_orders:read")
@blp.response(200, EdiPartnerSchema)
def get_setup():
    """Show the X12 setup with the hub's own ISA ids (credentials are never shown)"""
    return partners.get_partner(db.session, vendor_id=current_caller().org_id)


@blp.post("/host-key/confirm")
@vendor("purchase_orders:write")
@blp.response(200, EdiPartnerSchema)
def confirm_host_key():
    """Trust the changed host key the SFTP server offered (refused until confirmed)"""
    with transaction(db.session):
        return partners.confirm_host_key(db.session, vendor_id=current_caller().org_id, now=utcnow())


@blp.get("/files")
@vendor("purchase_orders:read")
@blp.arguments(EdiFileListArgs, location="query")
@blp.response(200, EdiFileListSchema)
def list_files(args: dict):
    """Every file exchanged, oldest first, with its processing report"""
    found = files.list_files(
        db.session,
        vendor_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])


@blp.get("/files/<int:file_id>")
@vendor("purchase_orders:read")
@blp.response(200, EdiFileRawSchema)
def get_file(file_id: int):
    """One file exchanged, with its raw text and processing report"""
    return files.get_file(db.session, file_id, vendor_id=current_caller().org_id)
