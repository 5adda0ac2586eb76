"""What every vendor API view shares: the token guard and manual schema loading."""

from __future__ import annotations

from collections.abc import Callable

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError

from api_common.auth import secured
from network.errors import InvalidInput


def vendor(blp: Blueprint, scope: str) -> Callable:
    """Require a vendor token with `scope`."""
    return secured(blp, scope, kind="vendor")


def load(schema: Schema, data: object) -> dict:
    """Validate input against a schema. Raises InvalidInput with the field messages."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_body": exc.messages}
        raise InvalidInput("the request has invalid fields; see errors", errors=messages) from None
