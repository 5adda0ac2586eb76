"""The retailer's audit log: who changed which terms (and API clients), from what to what."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.audit_schemas import AuditLogArgs, AuditLogSchema
from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.extensions import db
from network.partners import audit

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit-log", description="Audit log")


@blp.get("")
@secured(blp, "partners:manage")
@blp.arguments(AuditLogArgs, location="query")
@blp.response(200, AuditLogSchema)
def list_audit_log(args: dict):
    """The organization's audit log, oldest first"""
    found = audit.entries(
        db.session,
        org_id=current_caller().org_id,
        after_id=decode_cursor(args["cursor"], bigint=True),
        limit=args["limit"],
    )
    return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])
