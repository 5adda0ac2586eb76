"""OAuth2 client credentials (authlib) for the token endpoint, and the bearer check both APIs use.

The HTTP side only: which client holds which scopes, secrets and tokens are rules of
`network.partners.services`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from flask import Blueprint, Flask, current_app, g, request

from network.clock import utcnow
from network.db import transaction
from network.errors import Forbidden, Unauthorized
from network.extensions import db
from network.partners import services as partners
from network.partners.models import ApiClient
from network.partners.services import Caller


class OAuthClient(ClientMixin):
    """authlib's view of an API client: confidential, client-credentials only."""

    def __init__(self, model: ApiClient) -> None:
        self.model = model

    def get_client_id(self) -> str:
        return self.model.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return partners.granted_scopes(self.model, scope)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return partners.client_secret_matches(self.model, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self) -> None:
        """Refuse a scope the client does not hold (RFC 6749 §5.2 `invalid_scope`).

        Dropping it silently gave a token that failed later with a 403 far from the cause.
        """
        unknown = partners.scopes_not_held(self.request.client.model, self.request.payload.scope)
        if unknown:
            raise InvalidScopeError(
                description=f"scopes not granted to this client: {' '.join(sorted(unknown))}"
            )


def _query_client(client_id: str) -> OAuthClient | None:
    model = partners.find_client(db.session, client_id)
    return None if model is None else OAuthClient(model)


def _save_token(token: dict, oauth_request: Any) -> None:
    partners.store_token(
        db.session,
        client=oauth_request.client.model,
        token=token["access_token"],
        scopes=token.get("scope", ""),
        expires_in=int(token["expires_in"]),
        now=utcnow(),
    )


server = AuthorizationServer()
oauth_blueprint = Blueprint("oauth", __name__)


@oauth_blueprint.post("/oauth/token")
def issue_token():
    """Exchange client credentials for a bearer token."""
    with transaction(db.session):
        return server.create_token_response()


def init_oauth(app: Flask) -> None:
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN", {"client_credentials": app.config["HUB_TOKEN_LIFETIME_SECONDS"]}
    )
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(ClientCredentials)
    app.register_blueprint(oauth_blueprint)


def current_caller() -> Caller:
    return g.caller


def require(scope: str, *, kind: str) -> Callable:
    """Let a view run only for a bearer token of `kind` ('retailer' or 'vendor') holding `scope`."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("send 'Authorization: Bearer <token>' from POST /oauth/token")
            caller = partners.authenticate_token(
                db.session,
                token.strip(),
                now=utcnow(),
                cache_seconds=float(current_app.config["HUB_TOKEN_CACHE_SECONDS"]),
            )
            if caller.kind != kind:
                raise Forbidden(f"a {caller.kind} token cannot use the {kind} API")
            if scope not in caller.scopes:
                raise Forbidden(f"the token lacks the {scope!r} scope")
            g.caller = caller
            return view(*args, **kwargs)

        wrapper.required_scope = scope  # read by the OpenAPI security annotation
        return wrapper

    return decorate
