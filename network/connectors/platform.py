"""The interface every platform module implements, and the platform-neutral order it reads.

A platform module (`shopify`, `woocommerce`; BigCommerce would be one more) knows its webhook
signature, its topics and its order shape; nothing else in the hub reads a platform's JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

CREATE = "create"
UPDATE = "update"
CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class PlatformLine:
    platform_line_id: str
    sku: str  # "" when the listing has none (common on Shopify)
    variant_id: str  # "" when the line is not a catalog product (a custom line)
    quantity: int
    title: str = ""


@dataclass(frozen=True, slots=True)
class PlatformOrder:
    platform_order_id: str
    name: str
    cancelled: bool
    lines: tuple[PlatformLine, ...]
    ship_to: dict = field(default_factory=dict)


class Platform(Protocol):
    name: str
    credential_fields: tuple[str, ...]

    def verify(self, secret: str, body: bytes, headers: Mapping[str, str]) -> bool: ...

    def topic(self, headers: Mapping[str, str]) -> str | None:
        """CREATE, UPDATE or CANCEL for an order topic; None for a topic the hub does not take."""

    def parse_order(self, payload: dict) -> PlatformOrder: ...


def base64_hmac_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Both platforms sign the raw body: base64 of HMAC-SHA256 keyed with the webhook secret."""
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


def text(value: object, limit: int = 200) -> str:
    """A platform field as bounded text ("" for null)."""
    if value is None:
        return ""
    return str(value).strip()[:limit]


def quantity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("a line quantity must be a number")
    number = int(value)
    if number != float(value) or number < 0:
        raise ValueError("a line quantity must be a whole number")
    return number
