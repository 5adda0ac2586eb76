"""GS1 identifiers (UPC-A, EAN-8, EAN-13, GTIN-14): shape and check digit."""

from __future__ import annotations

GTIN_LENGTHS = frozenset({8, 12, 13, 14})


def gtin_check_digit(body: str) -> int:
    """Return the GS1 check digit for the digits before it (weights 3, 1, … from the right)."""
    digits = body.encode()
    odd = digits[::-1][0::2]
    even = digits[::-1][1::2]
    total = 3 * (sum(odd) - 48 * len(odd)) + sum(even) - 48 * len(even)
    return (10 - total % 10) % 10


def has_gtin_shape(value: str) -> bool:
    return len(value) in GTIN_LENGTHS and value.isascii() and value.isdigit()


def is_valid_gtin(value: str) -> bool:
    """Tell whether `value` is 8, 12, 13 or 14 ASCII digits with a correct check digit."""
    return has_gtin_shape(value) and gtin_check_digit(value[:-1]) == ord(value[-1]) - 48
