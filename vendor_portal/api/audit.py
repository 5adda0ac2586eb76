"""The vendor's audit log: who created or revoked its API clients (and later, other settings)."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.audit_schemas import AuditLogArgs, AuditLogSchema
from api_common.oauth import current_caller
from api_common.pagination import decode_cursor, page
from network.extensions import db
from network.partners import audit
from vendor_portal.api.common import vendor as vendor_guard

blp = Blueprint("vendor_audit", __name__, url_prefix="/vendor-api/v1/audit-log", description="Audit log")


# webhooks:manage is the vendor's settings scope (its endpoints); the log is settings history.
@blp.get("")
@vendor_guard(blp, "webhooks:manage")
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
