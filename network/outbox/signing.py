"""Webhook signatures (`Dropnet-Signature: t=<unix>,v1=<hex>`) and the sealing of signing secrets.

The signature is HMAC-SHA256 over "<t>.<raw body>" with the endpoint's secret. During a secret
rotation's grace period a delivery carries one `v1` per valid secret, so a receiver holding either
the old or the new secret verifies it (the scheme Stripe's receivers already know).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken

SIGNATURE_HEADER = "Dropnet-Signature"
DELIVERY_HEADER = "Dropnet-Delivery"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of "<timestamp>.<body>"."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: Sequence[str], timestamp: int, body: bytes) -> str:
    """Return the header value: the timestamp and one v1 signature per secret, newest first."""
    return ",".join([f"t={timestamp}", *(f"v1={sign(secret, timestamp, body)}" for secret in secrets_)])


class InvalidSignature(Exception):
    """A signature header that is malformed, too old, or made with another secret."""


def verify(
    header: str, body: bytes, secret: str, *, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS
) -> int:
    """Check a `Dropnet-Signature` header as a receiver should; return its timestamp.

    Raises InvalidSignature.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidSignature("the timestamp is not an integer") from None
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("the header lacks t= or v1=")
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("the timestamp is outside the tolerance (a replayed request?)")
    expected = sign(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("no signature matches the secret")
    return timestamp


class SecretBox:
    """Seal secrets at rest with a Fernet key derived from the application's SECRET_KEY.

    Changing SECRET_KEY makes sealed secrets unreadable: endpoints then need a rotate-secret.
    """

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("a SECRET_KEY is needed to seal webhook secrets")
        digest = hashlib.sha256(b"dropnet webhook secrets\0" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """Raises ValueError when the secret was sealed under another SECRET_KEY."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("the webhook secret was sealed with another SECRET_KEY") from None
