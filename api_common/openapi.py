"""Finishing touches on the OpenAPI document, for what flask-smorest and apispec cannot say alone.

- A nullable nested object comes out of apispec as `anyOf: [{type: object, nullable}, {$ref}]`,
  whose first branch admits any object at all; it is rewritten `{nullable: true, allOf: [{$ref}]}`.
- SKUs in paths carry the rule of network/catalog/skus.py as a pattern: no control, format,
  surrogate, private-use or line/paragraph-separator character, and not blank.
- Schemas listed in SCHEMA_DOCS replace apispec's rendering (FeedAuth: one shape per kind).
- The document says, once, that no text may hold NUL (U+0000): the edge refuses it everywhere.
"""

from __future__ import annotations

import copy
import functools
import sys
import threading
import unicodedata
from collections.abc import Callable
from typing import Any

from network.catalog.skus import _REFUSED

SKU_PARAMETERS = {"retailer_sku": 100, "vendor_sku": 100}
# Links (OpenAPI 3 `links`): where a created resource's id goes next, so that clients and
# stateful testers can follow them: (path, method, status) -> {name: (target path, method, parameters)}.
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {}
for _base, _param in (
    ("/vendor-api/v1/feeds", "feed_id"),
    ("/api/v1/webhook-endpoints", "endpoint_id"),
    ("/vendor-api/v1/webhook-endpoints", "endpoint_id"),
):
    LINKS[(_base, "post", "201")] = {
        f"{verb.title()}{_param.split('_')[0].title()}": (
            f"{_base}/{{{_param}}}",
            verb,
            {_param: "$response.body#/id"},
        )
        for verb in ("get", "patch", "delete")
    }
LINKS[("/api/v1/orders", "post", "201")] = {
    "GetOrder": ("/api/v1/orders/{order_id}", "get", {"order_id": "$response.body#/id"}),
    "CancelOrder": ("/api/v1/orders/{order_id}/cancel", "post", {"order_id": "$response.body#/id"}),
}
# Component schemas whose rule marshmallow cannot express (one shape per kind, say), documented
# by the module that owns the rule: name -> the schema to publish instead of apispec's.
SCHEMA_DOCS: dict[str, dict[str, Any]] = {}
NO_NUL = (
    "Text never contains NUL (U+0000): a request carrying one, anywhere, is answered 422. "
    'Money and other decimal amounts are strings ("12.50").'
)


def _refused_class() -> str:
    """A regex character class body listing every character a SKU may not hold, as ranges.

    Surrogates are left out: no UTF-8 text holds one, and a surrogate range in a pattern makes
    schemathesis (hypothesis' regex strategy) ignore the whole pattern.
    """
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in _REFUSED - {"Cs"}:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}" for a, b in ranges)


def _escape(code: int) -> str:
    # JSON Schema patterns are ECMA-262, which has no \U escape: astral characters go in as such.
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


@functools.cache
def sku_pattern(max_length: int) -> str:
    """1 to `max_length` allowed characters, the first and last not white space (built once, on use).

    The length is in the pattern rather than in maxLength: schemathesis cannot combine the two.
    """
    refused = _refused_class()
    inner = f"[^{refused}]{{0,{max_length - 2}}}"
    return f"^ *[^{refused}\\s](?:{inner}[^{refused}\\s])? *$"


def finishing(to_dict: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap apispec's `to_dict` so that every rendering of the document is finished the same way."""

    rendering = threading.Lock()

    def finished() -> dict[str, Any]:
        # apispec's dict shares its paths and schemas with the spec itself: finish a copy, one
        # rendering at a time, so that concurrent first readers never see a half-rewritten node.
        with rendering:
            document = copy.deepcopy(to_dict())
        _rewrite_nullable_refs(document)
        document.get("components", {}).get("schemas", {}).update(SCHEMA_DOCS)
        _add_links(document.get("paths", {}))
        for ops in document.get("paths", {}).values():
            for method, op in ops.items():
                if method != "parameters":
                    _pattern_skus(op.get("parameters", []))
            _pattern_skus(ops.get("parameters", []))
        info = document.setdefault("info", {})
        info["description"] = (info.get("description", "") + "\n\n" + NO_NUL).strip()
        return document

    return finished


def _add_links(paths: dict[str, Any]) -> None:
    for (path, method, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {"operationRef": f"#/paths/{_pointer(target)}/{verb}", "parameters": parameters}
            for name, (target, verb, parameters) in links.items()
            if verb in paths.get(target, {})
        }


def _pointer(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def _pattern_skus(parameters: list[dict[str, Any]]) -> None:
    for parameter in parameters:
        if parameter.get("in") == "path" and parameter.get("name") in SKU_PARAMETERS:
            schema = parameter.setdefault("schema", {"type": "string"})
            schema["pattern"] = sku_pattern(SKU_PARAMETERS[parameter["name"]])


def _rewrite_nullable_refs(node: Any) -> None:
    if isinstance(node, dict):
        branches = node.get("anyOf")
        # apispec puts the null branch first or second (second when the field has metadata).
        if (
            isinstance(branches, list)
            and len(branches) == 2
            and {"type": "object", "nullable": True} in branches
        ):
            ref = branches[1 - branches.index({"type": "object", "nullable": True})]
            if set(ref) == {"$ref"}:
                del node["anyOf"]
                node.update(nullable=True, allOf=[ref])
        for value in node.values():
            _rewrite_nullable_refs(value)
    elif isinstance(node, list):
        for value in node:
            _rewrite_nullable_refs(value)
