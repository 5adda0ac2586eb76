"""The JSON body of a stock push (`{as_of?, mode?, basis?, rows}`), read the same way whether the
web request applies it or the worker does (a queued push: network.feeds.queue)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from network.errors import InvalidInput
from network.feeds.mapping import parse_timestamp
from network.stock.models import BASES

MODES = ("delta", "full")
KEYS = ("as_of", "mode", "basis", "rows")


@dataclass(frozen=True)
class PushDocument:
    mode: str
    basis: str
    as_of: dt.datetime | None
    # Validated row by row by the feed parser, so one bad row rejects only itself.
    rows: Sequence[Mapping[str, object]]


def read_push_json(data: bytes) -> PushDocument:
    """Decode and check a JSON push body. Raises InvalidInput (with field errors) when it is unusable."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise InvalidInput(f"the body is not valid JSON: {exc}", errors={"_body": ["invalid JSON"]}) from None
    return push_document(document)


def push_document(document: object) -> PushDocument:
    """Check a decoded push body. Raises InvalidInput with a message per bad field."""
    if not isinstance(document, dict):
        raise InvalidInput("the body must be a JSON object", errors={"_body": ["must be an object"]})
    errors: dict[str, list[str]] = {str(key): ["unknown field"] for key in document if key not in KEYS}
    mode = document.get("mode", "delta")
    if mode not in MODES:
        errors["mode"] = ["must be delta or full"]
    basis = document.get("basis", "available")
    if basis not in BASES:
        errors["basis"] = ["must be available or on_hand"]
    as_of = None
    if document.get("as_of") is not None:
        raw = document["as_of"]
        as_of, problem = parse_timestamp(raw, "as_of") if isinstance(raw, str) else (None, "not a string")
        if problem or as_of is None:
            errors["as_of"] = [problem or "must be an RFC 3339 timestamp"]
    rows = document.get("rows")
    if not isinstance(rows, list):
        errors["rows"] = ["required: a list of {sku, quantity, …}" if rows is None else "must be a list"]
    if errors:
        summary = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in sorted(errors.items()))
        raise InvalidInput(f"the push body has invalid fields: {summary}", errors=errors)
    return PushDocument(mode=mode, basis=basis, as_of=as_of, rows=rows)
