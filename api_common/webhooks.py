"""Webhook endpoint views both APIs share: register, manage, rotate secrets, ping, the dead-letter
list with replay. Retailers and vendors get the same signing, retries and dead letters (network/outbox)."""

from __future__ import annotations

from types import SimpleNamespace

from flask import current_app
from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.pagination import PageArgs, decode_cursor, page
from api_common.webhook_schemas import (
    DeliveryArgs,
    DeliveryListSchema,
    DeliverySchema,
    WebhookEndpointCreateSchema,
    WebhookEndpointListSchema,
    WebhookEndpointPatchSchema,
    WebhookEndpointSchema,
    WebhookEndpointWithSecretSchema,
)
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.outbox import webhooks
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from network.partners.audit import Actor

SCOPE = "webhooks:manage"


def _settings() -> WebhookSettings:
    return WebhookSettings.from_config(current_app.config)


def _box() -> SecretBox:
    return SecretBox(current_app.config["SECRET_KEY"])


def _actor() -> Actor:
    """The API client the token was issued to: who the audit log names (as the console names its user)."""
    return Actor(client_pk=current_caller().client_pk)


def _with_secret(endpoint, secret: str) -> SimpleNamespace:
    """The endpoint as the answer shows it, plus the secret (never stored in the clear)."""
    fields = WebhookEndpointSchema().fields
    return SimpleNamespace(**{name: getattr(endpoint, name) for name in fields}, secret=secret)


def register_webhook_views(blp: Blueprint, *, kind: str) -> None:
    """Add the webhook endpoint views to an API's blueprint, for callers of `kind`."""

    @blp.post("/webhook-endpoints")
    @secured(blp, SCOPE, kind=kind)
    @blp.arguments(WebhookEndpointCreateSchema)
    @blp.response(201, WebhookEndpointWithSecretSchema)
    def create_endpoint(body: dict):
        """Register a webhook endpoint; the answer carries its signing secret, shown only this once"""
        with transaction(db.session):
            endpoint, secret = webhooks.create_endpoint(
                db.session,
                org_id=current_caller().org_id,
                settings=_settings(),
                box=_box(),
                actor=_actor(),
                now=utcnow(),
                **body,
            )
        return _with_secret(endpoint, secret)

    @blp.get("/webhook-endpoints")
    @secured(blp, SCOPE, kind=kind)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, WebhookEndpointListSchema)
    def list_endpoints(args: dict):
        """List the organization's webhook endpoints"""
        found = webhooks.list_endpoints(
            db.session,
            org_id=current_caller().org_id,
            after_id=decode_cursor(args["cursor"]),
            limit=args["limit"],
        )
        return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])

    @blp.get("/webhook-endpoints/<int:endpoint_id>")
    @secured(blp, SCOPE, kind=kind)
    @blp.response(200, WebhookEndpointSchema)
    def get_endpoint(endpoint_id: int):
        """Show one webhook endpoint (never its secret)"""
        return webhooks.get_endpoint(db.session, endpoint_id, org_id=current_caller().org_id)

    @blp.patch("/webhook-endpoints/<int:endpoint_id>")
    @secured(blp, SCOPE, kind=kind)
    @blp.arguments(WebhookEndpointPatchSchema)
    @blp.response(200, WebhookEndpointSchema)
    def patch_endpoint(changes: dict, endpoint_id: int):
        """Change an endpoint's URL, events, throttle, channel buffer and cap, or pause it (`active`)"""
        with transaction(db.session):
            return webhooks.update_endpoint(
                db.session,
                endpoint_id,
                org_id=current_caller().org_id,
                changes=changes,
                settings=_settings(),
                actor=_actor(),
                now=utcnow(),
            )

    @blp.delete("/webhook-endpoints/<int:endpoint_id>")
    @secured(blp, SCOPE, kind=kind)
    @blp.response(204)
    def delete_endpoint(endpoint_id: int):
        """Remove an endpoint and the deliveries it is still owed"""
        with transaction(db.session):
            webhooks.delete_endpoint(
                db.session, endpoint_id, org_id=current_caller().org_id, actor=_actor(), now=utcnow()
            )

    @blp.post("/webhook-endpoints/<int:endpoint_id>/rotate-secret")
    @secured(blp, SCOPE, kind=kind)
    @blp.response(200, WebhookEndpointWithSecretSchema)
    def rotate_secret(endpoint_id: int):
        """Give the endpoint a new secret (shown once); the old one also signs during the grace period"""
        with transaction(db.session):
            endpoint, secret = webhooks.rotate_secret(
                db.session,
                endpoint_id,
                org_id=current_caller().org_id,
                settings=_settings(),
                box=_box(),
                actor=_actor(),
                now=utcnow(),
            )
        return _with_secret(endpoint, secret)

    @blp.post("/webhook-endpoints/<int:endpoint_id>/ping")
    @secured(blp, SCOPE, kind=kind)
    @blp.response(202, DeliverySchema)
    def ping_endpoint(endpoint_id: int):
        """Send a `ping` event to this endpoint only; follow it in the endpoint's deliveries"""
        with transaction(db.session):
            return webhooks.ping_endpoint(
                db.session, endpoint_id, org_id=current_caller().org_id, settings=_settings(), now=utcnow()
            )

    @blp.get("/webhook-endpoints/<int:endpoint_id>/deliveries")
    @secured(blp, SCOPE, kind=kind)
    @blp.arguments(DeliveryArgs, location="query")
    @blp.response(200, DeliveryListSchema)
    def list_deliveries(args: dict, endpoint_id: int):
        """An endpoint's deliveries, newest first; `status=dead` lists the dead letters"""
        found = webhooks.list_deliveries(
            db.session,
            endpoint_id,
            org_id=current_caller().org_id,
            status=args.get("status"),
            before_id=decode_cursor(args["cursor"], bigint=True) or None,
            limit=args["limit"],
        )
        return page(found, last_position=found[-1].id if found else None, full=len(found) == args["limit"])

    @blp.post("/webhook-deliveries/<int(max=9223372036854775807):delivery_id>/replay")  # BIGINT ids
    @secured(blp, SCOPE, kind=kind)
    @blp.response(202, DeliverySchema)
    def replay_delivery(delivery_id: int):
        """Send a dead (or delivered) delivery again, with the same delivery id"""
        with transaction(db.session):
            return webhooks.replay_delivery(
                db.session,
                delivery_id,
                org_id=current_caller().org_id,
                settings=_settings(),
                actor=_actor(),
                now=utcnow(),
            )
