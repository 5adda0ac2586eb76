"""Shopify: order webhooks in (X-Shopify-Hmac-Sha256), Admin GraphQL out (see `shopify_client`).

Orders arrive as the REST order object (orders/create, orders/updated, orders/cancelled); line
items often have an empty `sku`, so lines also carry `variant_id`.
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

name = "shopify"
credential_fields = ("access_token", "webhook_secret")
_TOPICS = {"orders/create": CREATE, "orders/updated": UPDATE, "orders/cancelled": CANCEL}


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    return base64_hmac_matches(secret, body, headers.get("X-Shopify-Hmac-Sha256"))


def topic(headers: Mapping[str, str]) -> str | None:
    return _TOPICS.get(headers.get("X-Shopify-Topic", ""))


def parse_order(payload: dict) -> PlatformOrder:
    """Raises ValueError when the payload is not an order."""
    order = payload.get("order", payload) if isinstance(payload, dict) else None
    if (
        not isinstance(order, dict)
        or order.get("id") is None
        or not isinstance(order.get("line_items"), list)
    ):
        raise ValueError("not a Shopify order: it needs an id and line_items")
    lines = []
    for item in order["line_items"]:
        if not isinstance(item, dict):
            raise ValueError("a line item must be an object")
        # What is still to send: fulfillable_quantity when present (an orders/updated after a
        # partial fulfilment or refund), else the ordered quantity.
        lines.append(
            PlatformLine(
                platform_line_id=text(item.get("id"), 64),
                sku=text(item.get("sku"), 100),
                variant_id=text(item.get("variant_id"), 64),
                quantity=quantity(item.get("quantity", 0)),
                title=text(item.get("title")),
            )
        )
    return PlatformOrder(
        platform_order_id=text(order["id"], 64),
        name=text(order.get("name") or order.get("order_number"), 100),
        cancelled=bool(order.get("cancelled_at")),
        lines=tuple(lines),
        ship_to=_ship_to(order),
    )


def _ship_to(order: dict) -> dict:
    # A draft or digital order may have no shipping address: the billing address, then the
    # customer's default one, stand in; the order still reaches the hub (the customer has paid).
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    for address in (
        order.get("shipping_address"),
        order.get("billing_address"),
        customer.get("default_address"),
    ):
        if isinstance(address, dict) and address.get("address1"):
            full = " ".join(p for p in (text(address.get("first_name")), text(address.get("last_name"))) if p)
            return {
                "name": text(address.get("name")) or full,
                "address1": text(address.get("address1")),
                "city": text(address.get("city")),
                "postal_code": text(address.get("zip"), 20),
                "country": text(address.get("country_code") or address.get("country"), 60),
            }
    return {}


def parse_graphql_order(node: dict) -> PlatformOrder:
    """An order node of the Admin GraphQL `orders` query (the polling fallback), as a webhook's order."""
    if not isinstance(node, dict) or not node.get("legacyResourceId"):
        raise ValueError("not a Shopify order node: it needs legacyResourceId")
    lines = []
    for item in ((node.get("lineItems") or {}).get("nodes")) or []:
        variant = item.get("variant") or {}
        lines.append(
            PlatformLine(
                platform_line_id=text(item.get("id"), 100).rsplit("/", 1)[-1],
                sku=text(item.get("sku"), 100),
                variant_id=text(variant.get("legacyResourceId"), 64),
                quantity=quantity(item.get("quantity", 0)),
                title=text(item.get("name")),
            )
        )
    address = node.get("shippingAddress") or {}
    ship_to = (
        {
            "name": text(address.get("name")),
            "address1": text(address.get("address1")),
            "city": text(address.get("city")),
            "postal_code": text(address.get("zip"), 20),
            "country": text(address.get("countryCodeV2"), 60),
        }
        if address.get("address1")
        else {}
    )
    return PlatformOrder(
        platform_order_id=text(node["legacyResourceId"], 64),
        name=text(node.get("name"), 100),
        cancelled=bool(node.get("cancelledAt")),
        lines=tuple(lines),
        ship_to=ship_to,
    )
