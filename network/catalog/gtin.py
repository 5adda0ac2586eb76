"""GS1 identifiers (UPC-A, EAN-8, EAN-13, GTIN-14): shape and check digit."""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_check_digit(body: str) -> int:
    """Return the GS1 check digit for the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(value: str) -> bool:
    """Tell whether `value` is 8, 12, 13 or 14 ASCII digits with a correct check digit."""
    if len(value) not in GTIN_LENGTHS or not value.isascii() or not value.isdigit():
        return False
    return gtin_check_digit(value[:-1]) == int(value[-1])
