"""What a SKU may be, wherever it comes from (API, portal, feed file): one rule.

A SKU is compared byte for byte in the database, so "é" typed as one code point and as "e" plus a
combining accent would be two SKUs that print the same: every SKU is NFC-normalized on the way
in (and before a lookup). Control characters and invisible formatting characters (bidi
overrides, zero-width spaces) are refused: they make two SKUs look alike or reorder the text
around them on a screen (Trojan Source).
"""

from __future__ import annotations

import re
import unicodedata

from network.errors import InvalidInput

# Categories refused: controls, format characters (bidi, zero width), surrogates, private use,
# line and paragraph separators.
_REFUSED = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normal_sku(raw: str) -> str:
    """The SKU as stored and looked up: surrounding space removed, NFC."""
    text = raw.strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def sku_character_problem(sku: str) -> str | None:
    """Say which refused character a SKU holds (None: none)."""
    if sku.isascii():  # the common case, without a look at each character
        found = _ASCII_CONTROL.search(sku)
        return None if found is None else _refused(found.group())
    for char in sku:
        if unicodedata.category(char) in _REFUSED:
            return _refused(char)
    return None


def _refused(char: str) -> str:
    return f"sku contains U+{ord(char):04X}, a control or invisible formatting character"


def checked_sku(raw: str, *, field: str, max_length: int) -> str:
    """Return the normal form of a SKU a user gives. Raises InvalidInput (blank, too long, refused character)."""
    sku = normal_sku(raw)
    if not sku or len(sku) > max_length:
        raise InvalidInput(errors={field: [f"must be 1 to {max_length} characters"]})
    problem = sku_character_problem(sku)
    if problem:
        raise InvalidInput(problem, errors={field: [problem]})
    return sku
