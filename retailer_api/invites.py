"""Vendor invites: a retailer invites a vendor by email; the vendor accepts in the portal."""

from __future__ import annotations

import logging

from flask import Response, current_app, json, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from api_common.auth import secured
from api_common.edge import Schema
from api_common.oauth import current_caller
from api_common.pagination import PageArgs, decode_cursor, page
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.idempotency.services import check_key
from network.mail import Email, MailNotSent
from network.partners import invites
from network.partners.audit import Actor
from retailer_api.idempotent import respond_once
from retailer_api.schemas import ConnectionPatchSchema

log = logging.getLogger(__name__)

blp = Blueprint(
    "vendor_invites", __name__, url_prefix="/api/v1/vendor-invites", description="Invite vendors by email"
)


class InviteTermsSchema(ConnectionPatchSchema):
    class Meta:
        exclude = ("status",)


class InviteCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    vendor_name = fields.String(required=True, validate=validate.Length(1, 200))
    terms = fields.Nested(InviteTermsSchema, load_default=dict)


class InviteSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    vendor_name = fields.String()
    terms = fields.Dict()
    status = fields.Function(lambda invite: invites.invite_status(invite, utcnow()))
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class InviteCreatedSchema(InviteSchema):
    # False when the mail server did not take the email: revoke the invite and send a new one.
    email_sent = fields.Boolean()


class InviteListSchema(Schema):
    data = fields.List(fields.Nested(InviteSchema))
    next_cursor = fields.String(allow_none=True)


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    # Not blank (network.idempotency.services.check_key): at least one non-space character.
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
    "description": "a repeat with the same key and body returns the first answer (without `email_sent`) "
    "and neither creates nor emails anything",
}


@blp.post("")
@secured(blp, "partners:manage")
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
@blp.arguments(InviteCreateSchema)
@blp.response(201, InviteCreatedSchema)
def create_invite(body: dict):
    """Invite a vendor by email (the link's token is only in the email)"""
    caller, now = current_caller(), utcnow()
    created: list[Email] = []

    def handle() -> tuple[int, dict]:
        invite, token = invites.invite_vendor(
            db.session,
            retailer_id=caller.org_id,
            email=body["email"],
            vendor_name=body["vendor_name"],
            terms=body["terms"],
            actor=Actor(client_pk=caller.client_pk),
            ttl=invites.invite_ttl(current_app.config.get("HUB_INVITE_TTL_DAYS")),
            now=now,
        )
        created.append(invites.invite_email(invite, token, public_url=current_app.config["PUBLIC_URL"]))
        return 201, InviteSchema().dump(invite)

    key = request.headers.get("Idempotency-Key")
    if key is None:
        with transaction(db.session):
            _, answer = handle()
        response = None
    else:
        response = respond_once(
            org_id=caller.org_id,
            key=check_key(key),
            scope="POST /api/v1/vendor-invites",
            body=body,
            now=now,
            handle=handle,
        )
        if not created:  # a replay: the first request already sent the email
            return response
        answer = response.get_json()
    # The invite is committed; only now does its email leave.
    try:
        current_app.extensions["hub_mailer"].send(created[0])
        answer["email_sent"] = True
    except MailNotSent:
        log.exception("invite %s: email not sent", answer["id"])
        answer["email_sent"] = False
    # Already dumped (InviteCreatedSchema documents it): answer as is.
    return Response(json.dumps(answer), status=201, mimetype="application/json")


@blp.get("")
@secured(blp, "partners:manage")
@blp.arguments(PageArgs, location="query")
@blp.response(200, InviteListSchema)
def list_invites(args: dict):
    """List the retailer's invites, oldest first"""
    after = decode_cursor(args["cursor"])
    rows = invites.list_invites(
        db.session, org_id=current_caller().org_id, after_id=after, limit=args["limit"]
    )
    return page(rows, last_position=rows[-1].id if rows else None, full=len(rows) == args["limit"])


@blp.delete("/<int:invite_id>")
@secured(blp, "partners:manage")
@blp.response(204)
def revoke_invite(invite_id: int):
    """Revoke an invite: its link stops working (an accepted invite answers 409)"""
    caller = current_caller()
    with transaction(db.session):
        invites.revoke_vendor_invite(
            db.session,
            invite_id,
            retailer_id=caller.org_id,
            actor=Actor(client_pk=caller.client_pk),
            now=utcnow(),
        )
