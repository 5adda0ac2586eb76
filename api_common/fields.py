"""Field types both APIs share, documented as what the server really sends and takes."""

from __future__ import annotations

import decimal

from marshmallow import ValidationError, fields

# Amounts travel as decimal strings ("12.50"), never JSON numbers: a binary float cannot hold
# 0.10 exactly, and the database keeps NUMERIC(12, 4). Up to 8 integer digits and 4 places.
DECIMAL_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,4})?$"

# The URLs the document promises to take (https, a dotted public-looking host, a plain path): a
# subset of what marshmallow's validate.URL(schemes={"http", "https"}) accepts, so a client
# following the document is never refused; the server takes more (http, ports, queries).
_LABEL = "[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?"
URL_PATTERN = f"^https://(?:{_LABEL}\\.){{1,3}}[a-z]{{2,6}}(?:/[A-Za-z0-9._~%/-]{{0,200}})?$"


class DecimalString(fields.Decimal):
    """A decimal amount, answered as a string. As input, a string matching DECIMAL_PATTERN (numbers
    are still accepted, as before), not negative and below 10^integer_digits, rounded to 4 places.

    Documented as `{"type": "string", "format": "decimal"}` (registered on the Api); the pattern
    is documented on inputs only, so that answers are never held to an input rule.
    """

    def __init__(self, *, input: bool = False, integer_digits: int = 8, **kwargs: object) -> None:  # noqa: A002
        kwargs.setdefault("as_string", True)
        kwargs.setdefault("allow_none", True)
        if input:
            kwargs.setdefault("places", 4)
            metadata = dict(kwargs.pop("metadata", None) or {})
            metadata.setdefault("pattern", DECIMAL_PATTERN.replace("{1,8}", f"{{1,{integer_digits}}}"))
            metadata.setdefault("example", "12.50")
            kwargs["metadata"] = metadata
            kwargs["validate"] = [_below(decimal.Decimal(10**integer_digits))]
        super().__init__(**kwargs)


def _below(limit: decimal.Decimal):
    def in_range(value: decimal.Decimal) -> None:
        if not decimal.Decimal(0) <= value < limit:
            raise ValidationError(f"must be at least 0 and less than {limit}")

    return in_range
