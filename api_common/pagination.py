"""Cursor pagination shared by both APIs: `?limit=&cursor=` in, `{data, next_cursor}` out."""

from __future__ import annotations

import base64
import binascii

from marshmallow import fields, validate

from api_common.edge import Schema
from network.errors import InvalidInput

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class PageArgs(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = fields.String(load_default=None)


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, default: int = 0) -> int:
    """Return the position a cursor stands for. Raises InvalidInput for a cursor the hub never gave."""
    if not cursor:
        return default
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("p"):
            raise ValueError(text)
        return int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", errors={"cursor": ["not a cursor this API returned"]}) from None


def page(data: list, *, last_position: int | None, full: bool) -> dict:
    """A list page: `next_cursor` is null when there is nothing after it."""
    return {"data": data, "next_cursor": encode_cursor(last_position) if full and last_position else None}


def feed_page(data: list, *, last_position: int) -> dict:
    """A change-feed page: the cursor is always returned, so a poller can resume from it."""
    return {"data": data, "next_cursor": encode_cursor(last_position)}
