"""Partnerships with vendors and their terms."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from network.availability.terms import change_terms
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.partners import services as partners
from network.partners.audit import Actor
from retailer_api.schemas import ConnectionListSchema, ConnectionPatchSchema, ConnectionSchema

blp = Blueprint("connections", __name__, url_prefix="/api/v1/connections", description="Vendor partnerships")


@blp.get("")
@secured(blp, "partners:manage")
@blp.response(200, ConnectionListSchema)
def list_connections():
    """List the retailer's vendor connections"""
    return {
        "data": partners.list_connections(db.session, org_id=current_caller().org_id),
        "next_cursor": None,
    }


@blp.patch("/<int:connection_id>")
@secured(blp, "partners:manage")
@blp.arguments(ConnectionPatchSchema)
@blp.response(200, ConnectionSchema)
def patch_connection(terms: dict, connection_id: int):
    """Change a connection's terms (SLAs, safety buffer, staleness, routing priority, status)"""
    with transaction(db.session):
        conn = change_terms(
            db.session,
            connection_id,
            retailer_id=current_caller().org_id,
            terms=terms,
            actor=Actor(client_pk=current_caller().client_pk),
            now=utcnow(),
        )
    return conn
