"""Helpers for connector tests: a connected store, and webhooks signed as the platforms sign them."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy.orm import Session

from network.connectors.models import ConnectorListing
from network.db import transaction
from tests.builders import Party

SHOPIFY_CREDENTIALS = {"access_token": "shpat_test_token", "webhook_secret": "shopify-hook-secret"}
WOO_CREDENTIALS = {
    "consumer_key": "ck_test",
    "consumer_secret": "cs_test",
    "webhook_secret": "woo-hook-secret",
}
HEADERS = {
    "shopify": ("X-Shopify-Hmac-Sha256", "X-Shopify-Topic"),
    "woocommerce": ("X-WC-Webhook-Signature", "X-WC-Webhook-Topic"),
}


def connect_store(retailer: Party, platform: str = "shopify", shop_url: str | None = None, **extra) -> dict:
    body = {
        "platform": platform,
        "shop_url": shop_url
        or ("https://example.myshopify.com" if platform == "shopify" else "https://shop.example.com"),
        "credentials": SHOPIFY_CREDENTIALS if platform == "shopify" else WOO_CREDENTIALS,
        **extra,
    }
    response = retailer.api.post("/api/v1/connectors", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver(client, connector: dict, topic: str, body: bytes, *, secret: str | None = None):
    """POST a webhook as the platform would: the raw body, signed with the connector's secret."""
    platform = connector["platform"]
    if secret is None:
        secret = (SHOPIFY_CREDENTIALS if platform == "shopify" else WOO_CREDENTIALS)["webhook_secret"]
    signature_header, topic_header = HEADERS[platform]
    return client.post(
        f"/hooks/{platform}/{connector['id']}",
        data=body,
        headers={
            signature_header: sign(secret, body),
            topic_header: topic,
            "Content-Type": "application/json",
        },
    )


def map_listing(session: Session, connector_id: int, retailer_sku: str, variant_id: str) -> None:
    """A store listing whose SKU is empty, known by its platform variant id."""
    with transaction(session):
        session.add(
            ConnectorListing(
                connector_id=connector_id, retailer_sku=retailer_sku, platform_variant_id=variant_id
            )
        )
