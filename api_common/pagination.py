"""Cursor pagination shared by both APIs: `?limit=&cursor=` in, `{data, next_cursor}` out."""

from __future__ import annotations

import base64
import binascii
import re

from marshmallow import fields, validate

from api_common.edge import DB_INT_MAX, Schema
from network.errors import InvalidInput

BIGINT_MAX = 2**63 - 1
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


# Exactly the cursors encode_cursor gives (the base64url of "p" and up to 18 digits, unpadded),
# so the document tells a client which values the API takes: base64 packs 3 bytes in 4
# characters, and each character of a digit group is one of a few (tests/api/test_pagination.py).
_GROUP = "(?:M[DTjz]|N[DTjz]|O[DT])[AEIMQUYcgk]"
CURSOR_PATTERN = (
    f"^cD[AEIMQUYcgk](?:[wxyz0-5](?:(?:{_GROUP}[wxyz0-5]){{0,5}}(?:M[AQgw]|N[AQgw]|O[AQ])?"
    f"|(?:{_GROUP}[wxyz0-5]){{0,4}}{_GROUP}))?$"
)
_CURSOR = re.compile(CURSOR_PATTERN)


class PageArgs(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = fields.String(
        load_default=None,
        validate=validate.Regexp(_CURSOR, error="not a cursor this API returned"),
        metadata={"description": "a `next_cursor` this API returned (opaque to clients)"},
    )


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, default: int = 0, bigint: bool = False) -> int:
    """Return the position a cursor stands for. Raises InvalidInput for a cursor the hub never gave.

    A position past what an integer column holds (or a BIGINT one, with `bigint`) is read as that
    largest value: nothing lies beyond it either way, and the database never sees a number it
    would refuse.
    """
    if not cursor:
        return default
    try:
        if not _CURSOR.fullmatch(cursor):
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("p"):
            raise ValueError(text)
        position = int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", errors={"cursor": ["not a cursor this API returned"]}) from None
    return min(position, BIGINT_MAX if bigint else DB_INT_MAX)


def page(data: list, *, last_position: int | None, full: bool) -> dict:
    """A list page: `next_cursor` is null when there is nothing after it."""
    return {"data": data, "next_cursor": encode_cursor(last_position) if full and last_position else None}


def feed_page(data: list, *, last_position: int) -> dict:
    """A change-feed page: the cursor is always returned, so a poller can resume from it."""
    return {"data": data, "next_cursor": encode_cursor(last_position)}
