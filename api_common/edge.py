"""What every request must satisfy before any rule sees it: text without NUL, ids the database holds.

PostgreSQL's text cannot hold NUL and its integer columns stop at 2**31 - 1; an input past either
reached the database and answered 500. One rule here, for both APIs and the portal, on both
databases: a NUL anywhere in the path, query, form or JSON body is 422; an integer path id out
of range matches no route (404); an integer field of a schema out of range is 422; a JSON body
nested too deeply to parse is 400, like any JSON that cannot be read.
"""

from __future__ import annotations

import re

import marshmallow
from flask import Flask, Response, request
from marshmallow import fields, validate
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from api_common import problems
from network.errors import InvalidInput

DB_INT_MAX = 2**31 - 1
DB_INT_MIN = -(2**31)
BIGINT_MAX = 2**63 - 1
IN_DB_RANGE = validate.Range(DB_INT_MIN, DB_INT_MAX, error="must be between {min} and {max}")

# `\u0000` in a JSON text is a NUL in the string it decodes to, unless its backslash is itself
# escaped (an odd run of backslashes is an escape, an even one is literal backslashes).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_FORMS = (
    "application/x-www-form-urlencoded",
    "multipart/form-data",
)  # fields only; files are parsed by rules
_NUL_DETAIL = "text cannot contain the NUL character (U+0000)"


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: an id past the database's integer range is 404, like an unknown one.

    A route whose id is a BIGINT column says so: `<int(max=BIGINT_MAX):delivery_id>`.
    """

    def __init__(self, map: Map, max: int = DB_INT_MAX) -> None:  # noqa: A002 (werkzeug's names)
        super().__init__(map, max=max)  # the maximum is also what the OpenAPI document shows

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > self.max:
            # Not werkzeug's ValidationError: with it, a path that other methods also serve
            # would answer 405 instead of 404.
            raise NotFound()
        return number


class Schema(marshmallow.Schema):
    """The base of every API schema: each integer field, however nested, holds in the database."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        _bound_integers(field_obj)


def _bound_integers(field: fields.Field) -> None:
    if isinstance(field, fields.Integer) and IN_DB_RANGE not in field.validators:
        field.validators = [*field.validators, IN_DB_RANGE]
    for attribute in ("inner", "key_field", "value_field"):
        inner = getattr(field, attribute, None)
        if isinstance(inner, fields.Field):
            _bound_integers(inner)


def refuse_nul() -> None:
    """Raise InvalidInput when the request carries a NUL in its path, query, form or JSON body."""
    where = []
    if "\x00" in request.path:
        where.append("path")
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        where.append("query")
    if request.mimetype in _FORMS and any(
        "\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)
    ):
        where.append("form")
    # The plain substring test first: the regex alone holds the GIL for about a second on a 20 MB
    # body, stalling every other request of the process (bench/healthz_during_pushes.py).
    if request.is_json and b"\\u0000" in (body := request.get_data(cache=True)) and _JSON_NUL.search(body):
        where.append("body")
    if where:
        raise InvalidInput(_NUL_DETAIL, errors={part: [_NUL_DETAIL] for part in where})


def too_deep(error: RecursionError) -> Response:
    """A JSON body nested past Python's recursion limit fails to parse: the client's error (400).

    The APIs' bodies are parsed by webargs, which only knows JSONDecodeError; anything else that
    recurses out is a fault of ours and stays a 500.
    """
    from network.app import handle_unexpected  # the composition root imports this module

    if request.is_json:
        return problems.problem(400, "Bad request", "the JSON body nests too deeply", slug="json-too-deep")
    return handle_unexpected(error)


def configure_edge(app: Flask) -> None:
    """Install the rules above; before any blueprint, so that every route uses the id converter.

    Behind HUB_PROXY_HOPS proxies, the client's address is the one the nearest of them saw
    (X-Forwarded-For); never otherwise, or a guesser could pick the address it is throttled by.
    """
    hops = int(app.config.get("HUB_PROXY_HOPS") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)
    app.register_error_handler(RecursionError, too_deep)
