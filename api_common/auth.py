"""Bearer-token guard for retailer API views, documented in the OpenAPI spec."""

from __future__ import annotations

from collections.abc import Callable

from flask_smorest import Blueprint

from api_common.oauth import require


def secured(blp: Blueprint, scope: str, *, kind: str = "retailer") -> Callable:
    """Require a token of `kind` with `scope`, and say so in the generated document."""

    def decorate(view: Callable) -> Callable:
        guarded = require(scope, kind=kind)(view)
        return blp.doc(security=[{"oauth2": [scope]}])(guarded)

    return decorate
