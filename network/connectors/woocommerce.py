"""WooCommerce: order webhooks in (X-WC-Webhook-Signature), REST v3 out (see `woocommerce_client`).

Orders arrive as the REST v3 order object (order.created, order.updated); a line's `sku` may be
empty, so lines also carry the variation id (or the product id of a simple product).
"""

from __future__ import annotations

from collections.abc import Mapping

from network.connectors.platform import (
    CANCEL,
    CREATE,
    UPDATE,
    PlatformLine,
    PlatformOrder,
    base64_hmac_matches,
    quantity,
    text,
)

name = "woocommerce"
credential_fields = ("consumer_key", "consumer_secret", "webhook_secret")
_TOPICS = {"order.created": CREATE, "order.updated": UPDATE, "order.deleted": CANCEL}
CANCELLED_STATUSES = ("cancelled", "refunded", "failed", "trash")


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    return base64_hmac_matches(secret, body, headers.get("X-WC-Webhook-Signature"))


def topic(headers: Mapping[str, str]) -> str | None:
    return _TOPICS.get(headers.get("X-WC-Webhook-Topic", ""))


def parse_order(payload: dict) -> PlatformOrder:
    """Raises ValueError when the payload is not an order (v3, or the legacy wc-api wrapper)."""
    order = payload.get("order", payload) if isinstance(payload, dict) else None
    if (
        not isinstance(order, dict)
        or order.get("id") is None
        or not isinstance(order.get("line_items"), list)
    ):
        raise ValueError("not a WooCommerce order: it needs an id and line_items")
    lines = []
    for item in order["line_items"]:
        if not isinstance(item, dict):
            raise ValueError("a line item must be an object")
        variation = item.get("variation_id") or item.get("product_id")
        lines.append(
            PlatformLine(
                platform_line_id=text(item.get("id"), 64),
                sku=text(item.get("sku"), 100),
                variant_id=text(variation, 64) if variation else "",
                quantity=quantity(item.get("quantity", 0)),
                title=text(item.get("name")),
            )
        )
    return PlatformOrder(
        platform_order_id=text(order["id"], 64),
        name=text(order.get("number") or order.get("order_number") or order["id"], 100),
        cancelled=text(order.get("status")) in CANCELLED_STATUSES,
        lines=tuple(lines),
        ship_to=_ship_to(order),
    )


def _ship_to(order: dict) -> dict:
    for key in ("shipping", "shipping_address", "billing", "billing_address"):
        address = order.get(key)
        if isinstance(address, dict) and address.get("address_1"):
            return {
                "name": " ".join(
                    p for p in (text(address.get("first_name")), text(address.get("last_name"))) if p
                ),
                "address1": text(address.get("address_1")),
                "city": text(address.get("city")),
                "postal_code": text(address.get("postcode"), 20),
                "country": text(address.get("country"), 60),
            }
    return {}
