"""The domain's error tree: every surface maps these to its own answer (problem+json, a flash message)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a rule raises on purpose."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str = "", **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a rule (422, with field errors when there are some)."""

    status = 422
    title = "Invalid input"

    def __init__(self, detail: str = "", errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, errors=errors or {})
        self.errors = errors or {}


class InvalidFeed(DomainError):
    """A feed that cannot be read at all: wrong encoding, missing required column, broken syntax."""

    status = 422
    title = "Feed rejected"


class IllegalTransition(Conflict):
    title = "Illegal transition"


class OutOfStock(Conflict):
    """An order whose lines cannot all be reserved; `lines` says the shortfall per line."""

    title = "Insufficient stock"

    def __init__(self, detail: str, lines: list[dict]) -> None:
        super().__init__(detail, lines=lines)
        self.lines = lines


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
