"""One error shape for both APIs: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging

import marshmallow
from flask import Response, json
from marshmallow import fields
from werkzeug.exceptions import HTTPException

from network.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://dropnet.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemSchema(marshmallow.Schema):
    """How every error answer is documented (the Api's ERROR_SCHEMA): what `problem` writes."""

    class Meta:
        # Some problems carry more members (`feed_run_id` of a rejected feed, ...): RFC 9457 allows it.
        unknown = marshmallow.INCLUDE

    type = fields.String(required=True, metadata={"format": "uri"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "validation failures (422): field or location → messages"},
    )
    lines = fields.List(
        fields.Dict(),
        metadata={"description": "order shortfalls (409): [{retailer_sku, requested, available}]"},
    )


def problem(status: int, title: str, detail: str, *, slug: str | None = None, **extra: object) -> Response:
    body = {
        "type": PROBLEM_TYPE_BASE + (slug or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        **{k: v for k, v in extra.items() if v is not None},
    }
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    if status == 401:
        # RFC 6750 §3: a 401 names the scheme that would let the client in.
        response.headers["WWW-Authenticate"] = 'Bearer realm="dropnet"'
    return response


def from_domain_error(error: DomainError) -> Response:
    return problem(error.status, error.title, error.detail, **error.extra)


def from_http_exception(error: HTTPException) -> Response:
    """Map werkzeug/webargs errors, keeping webargs' field messages under `errors`."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    errors = None
    if isinstance(messages, dict):
        # webargs keys messages by location (json, query, ...); one location is the usual case.
        errors = next(iter(messages.values())) if len(messages) == 1 else messages
        if not isinstance(errors, dict):  # a body that is not JSON at all: ["Invalid JSON body."]
            errors = {"_body": errors}
    detail = error.description or error.name
    if status == 422 and errors:
        detail = "the request has invalid fields; see errors"
    response = problem(status, error.name, detail, errors=errors)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    for name, value in error.get_headers():
        # A 405 says which methods the resource has (RFC 9110 §15.5.6); werkzeug puts them here.
        if name.lower() == "allow":
            response.headers["Allow"] = value
    return response


def internal_error() -> Response:
    return problem(500, "Internal error", "the hub failed to handle the request; it has been logged")


# Seconds a client waits before retrying after the database connection was lost: the pool
# reconnects on the next checkout, so the retry normally succeeds at once.
RETRY_AFTER_SECONDS = 1


def database_unavailable() -> Response:
    response = problem(
        503,
        "Service unavailable",
        "the hub lost its database connection; nothing was changed, retry the same request "
        "(with the same Idempotency-Key)",
        slug="database-unavailable",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
