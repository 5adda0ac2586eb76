"""Field types both APIs share, documented as what the server really sends and takes."""

from __future__ import annotations

import decimal

from marshmallow import ValidationError, fields

# Amounts travel as decimal strings ("12.50"), never JSON numbers: a binary float cannot hold
# 0.10 exactly, and the database keeps NUMERIC(12, 4). Up to 8 integer digits and 4 places.
DECIMAL_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,4})?$"
DECIMAL_LIMIT = decimal.Decimal(10**8)


class DecimalString(fields.Decimal):
    """A decimal amount, answered as a string. As input, a string matching DECIMAL_PATTERN (numbers
    are still accepted, as before), not negative and below 10^8, rounded to 4 places.

    Documented as `{"type": "string", "format": "decimal"}` (registered on the Api); the pattern
    is documented on inputs only, so that answers are never held to an input rule.
    """

    def __init__(self, *, input: bool = False, **kwargs: object) -> None:  # noqa: A002
        kwargs.setdefault("as_string", True)
        kwargs.setdefault("allow_none", True)
        if input:
            kwargs.setdefault("places", 4)
            metadata = dict(kwargs.pop("metadata", None) or {})
            metadata.setdefault("pattern", DECIMAL_PATTERN)
            metadata.setdefault("example", "12.50")
            kwargs["metadata"] = metadata
            kwargs["validate"] = [_in_range]
        super().__init__(**kwargs)


def _in_range(value: decimal.Decimal) -> None:
    if not decimal.Decimal(0) <= value < DECIMAL_LIMIT:
        raise ValidationError("must be at least 0 and less than 100000000")
