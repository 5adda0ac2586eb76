"""Storefront connectors (`/api/v1/connectors`) and the platforms' order webhooks (`/hooks/...`)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from flask import current_app, request
from flask_smorest import Blueprint

from api_common.auth import secured
from api_common.oauth import current_caller
from api_common.problems import problem
from network.clock import utcnow
from network.connectors import drift, intake, services
from network.connectors.http import StoreError
from network.connectors.models import PAUSED, Connector
from network.connectors.sync import config_clients
from network.db import transaction
from network.extensions import db
from network.feeds.credentials import Credentials, CredentialsUnreadable
from network.partners.audit import Actor
from retailer_api.connector_schemas import (
    ConnectorCreateSchema,
    ConnectorListSchema,
    ConnectorPatchSchema,
    ConnectorSchema,
    DriftListSchema,
    HookAnswerSchema,
)

SCOPE = "connectors:manage"

blp = Blueprint("connectors", __name__, url_prefix="/api/v1/connectors", description="Storefront connectors")
hooks = Blueprint(
    "hooks", __name__, url_prefix="/hooks", description="Storefront order webhooks (platform-signed)"
)


def _sealer() -> Credentials:
    return Credentials(current_app.config["SECRET_KEY"])


def _http_hosts() -> frozenset[str]:
    hosts = current_app.config.get("HUB_CONNECTOR_ALLOW_HTTP_HOSTS") or ""
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    return frozenset(str(h).strip().lower() for h in hosts if str(h).strip())


def _shown(connector: Connector, health: dict | None = None) -> SimpleNamespace:
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    return SimpleNamespace(
        **{name: getattr(connector, name) for name in ConnectorSchema().fields if hasattr(connector, name)},
        webhook_url=f"{base}/hooks/{connector.platform}/{connector.id}",
        health=health if health is not None else services.health(db.session, connector),
    )


def _actor() -> Actor:
    return Actor(client_pk=current_caller().client_pk)


@blp.post("")
@secured(blp, SCOPE)
@blp.arguments(ConnectorCreateSchema)
@blp.response(201, ConnectorSchema)
def create_connector(body: dict):
    """Connect a store; point its order webhooks at the answer's `webhook_url`"""
    with transaction(db.session):
        connector = services.create_connector(
            db.session,
            retailer_id=current_caller().org_id,
            sealer=_sealer(),
            allow_http_hosts=_http_hosts(),
            actor=_actor(),
            now=utcnow(),
            **body,
        )
    return _shown(connector)


@blp.get("")
@secured(blp, SCOPE)
@blp.response(200, ConnectorListSchema)
def list_connectors():
    """The retailer's connectors with their health"""
    connectors = services.list_connectors(db.session, retailer_id=current_caller().org_id)
    healths = services.healths(db.session, connectors)
    return {"data": [_shown(c, healths[c.id]) for c in connectors], "next_cursor": None}


@blp.get("/<int:connector_id>")
@secured(blp, SCOPE)
@blp.response(200, ConnectorSchema)
def get_connector(connector_id: int):
    """A connector and its health: last success, last error, backlog"""
    return _shown(services.get_connector(db.session, connector_id, retailer_id=current_caller().org_id))


@blp.patch("/<int:connector_id>")
@secured(blp, SCOPE)
@blp.arguments(ConnectorPatchSchema)
@blp.response(200, ConnectorSchema)
def update_connector(body: dict, connector_id: int):
    """Change a connector; `status: paused` pauses it, `active` resumes it"""
    with transaction(db.session):
        connector = services.get_connector(db.session, connector_id, retailer_id=current_caller().org_id)
        services.update_connector(
            db.session,
            connector,
            body,
            sealer=_sealer(),
            allow_http_hosts=_http_hosts(),
            actor=_actor(),
            now=utcnow(),
        )
    return _shown(connector)


@blp.delete("/<int:connector_id>")
@secured(blp, SCOPE)
@blp.response(204)
def delete_connector(connector_id: int):
    """Disconnect a store (hub orders it brought stay)"""
    with transaction(db.session):
        connector = services.get_connector(db.session, connector_id, retailer_id=current_caller().org_id)
        services.delete_connector(db.session, connector, actor=_actor(), now=utcnow())


@blp.get("/<int:connector_id>/drift")
@secured(blp, SCOPE)
@blp.response(200, DriftListSchema)
@blp.alt_response(502, description="The store could not be read (the problem says why)")
def get_drift(connector_id: int):
    """Listings whose figure on the store differs from the one the hub last set there"""
    connector = services.get_connector(db.session, connector_id, retailer_id=current_caller().org_id)
    try:
        found = drift.drift(
            db.session, connector, config_clients(current_app.config)(connector), now=utcnow()
        )
    except StoreError as exc:
        return problem(502, "Bad Gateway", f"the store could not be read: {exc}")
    return {"data": found, "next_cursor": None}


def _hook(platform: str, connector_id: int):
    body = request.get_data(cache=True)
    now = utcnow()
    with transaction(db.session):
        connector = db.session.get(Connector, connector_id)
        if connector is None or connector.platform != platform:
            return problem(404, "Not Found", f"no {platform} connector {connector_id}")
        module = services.platform_of(connector)
        try:
            secret = services.open_credentials(connector, _sealer()).get("webhook_secret", "")
        except CredentialsUnreadable:
            secret = ""  # sealed under another SECRET_KEY: nothing can verify, so nothing is taken
        if not module.verify(secret, body, request.headers):
            return problem(401, "Unauthorized", "the webhook signature does not match the connector's secret")
        if connector.status == PAUSED:
            response = problem(503, "Service Unavailable", "the connector is paused; the store will retry")
            response.headers["Retry-After"] = "600"
            return response
        kind = module.topic(request.headers)
        if kind is None:  # a topic the hub does not take (or a platform ping): acknowledged, unused
            return {"status": "ignored", "created": False, "order_id": None}
        try:
            order = module.parse_order(json.loads(body))
        except (ValueError, TypeError, AttributeError) as exc:
            return problem(422, "Unprocessable Content", f"not an order the hub can read: {exc}")
        outcome = intake.receive(db.session, connector, kind, order, now=now)
        services.record_success(connector, now)
    return {"status": outcome.status, "created": outcome.created, "order_id": outcome.order_id}


@hooks.post("/shopify/<int:connector_id>")
@hooks.response(200, HookAnswerSchema)
@hooks.doc(
    security=[{"shopifyHmac": []}],
    description="Signed by Shopify: X-Shopify-Hmac-Sha256; topic in X-Shopify-Topic",
)
def shopify_hook(connector_id: int):
    """Shopify order webhooks (orders/create, orders/updated, orders/cancelled); 401 on a bad signature"""
    return _hook("shopify", connector_id)


@hooks.post("/woocommerce/<int:connector_id>")
@hooks.response(200, HookAnswerSchema)
@hooks.doc(
    security=[{"woocommerceSignature": []}],
    description="Signed by WooCommerce: X-WC-Webhook-Signature; topic in X-WC-Webhook-Topic",
)
def woocommerce_hook(connector_id: int):
    """WooCommerce order webhooks (order.created, order.updated); 401 on a bad signature"""
    return _hook("woocommerce", connector_id)
