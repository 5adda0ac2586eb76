"""Feed credentials at rest: Fernet-encrypted with a key derived from the hub's SECRET_KEY.

Only the pull client ever sees them in the clear, just before it sends a request; the API
answers `has_credentials`, and logs and failure reasons never carry them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from network.errors import InvalidInput

# Parameters each auth kind needs (all required, all strings).
AUTH_PARAMETERS: dict[str, tuple[str, ...]] = {
    "none": (),
    "basic": ("username", "password"),
    "bearer": ("token",),
    "header": ("name", "value"),
    # sftp:// feeds: a login with a private key (OpenSSH or PEM) instead of a password.
    "ssh_key": ("username", "private_key"),
}
# Headers the hub sets itself; a vendor's custom auth header must not replace them.
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "if-none-match", "if-modified-since"}
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")


class CredentialsUnreadable(Exception):
    """The stored credentials were sealed with another SECRET_KEY."""


@dataclass(frozen=True)
class Credentials:
    """Seals and opens feed auth parameters with one hub secret."""

    secret_key: str

    def _fernet(self) -> Fernet:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dropnet feed credentials").derive(
            self.secret_key.encode()
        )
        return Fernet(base64.urlsafe_b64encode(key))

    def seal(self, parameters: Mapping[str, str]) -> str:
        return self._fernet().encrypt(json.dumps(dict(parameters)).encode()).decode()

    def open(self, sealed: str) -> dict[str, str]:
        """Raises CredentialsUnreadable when the key changed since they were sealed."""
        try:
            return json.loads(self._fernet().decrypt(sealed.encode()))
        except InvalidToken:
            raise CredentialsUnreadable(
                "the feed's stored credentials cannot be read (was SECRET_KEY changed?); set its auth again"
            ) from None


def check_auth(kind: str, parameters: Mapping[str, object]) -> dict[str, str]:
    """Return the parameters an auth kind needs, validated.

    Raises InvalidInput naming the missing or bad fields.
    """
    if kind not in AUTH_PARAMETERS:
        raise InvalidInput(
            "unknown auth kind", errors={"auth.kind": [f"use one of {sorted(AUTH_PARAMETERS)}"]}
        )
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name in AUTH_PARAMETERS[kind]:
        value = parameters.get(name)
        if not isinstance(value, str) or not value:
            errors[f"auth.{name}"] = [f"required for {kind} auth"]
        elif name == "private_key":
            if len(value) > 16000 or "PRIVATE KEY" not in value:
                errors["auth.private_key"] = ["an OpenSSH or PEM private key"]
            else:
                values[name] = value
        elif len(value) > 4000 or "\r" in value or "\n" in value:
            errors[f"auth.{name}"] = ["must be one line of at most 4000 characters"]
        else:
            values[name] = value
    extra = sorted(set(parameters) - set(AUTH_PARAMETERS[kind]) - {"kind"})
    for name in extra:
        errors[f"auth.{name}"] = [f"not used by {kind} auth"]
    if kind == "basic" and ":" in values.get("username", ""):
        errors["auth.username"] = ["a basic-auth username cannot contain ':'"]
    if kind == "header" and "name" in values:
        name = values["name"]
        if not _HEADER_NAME.fullmatch(name):
            errors["auth.name"] = ["must be an HTTP header name, e.g. X-Api-Key"]
        elif name.lower() in _RESERVED_HEADERS:
            errors["auth.name"] = [f"{name} is set by the hub; choose another header"]
    if errors:
        raise InvalidInput("invalid feed auth", errors=errors)
    return values
