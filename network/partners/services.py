"""Organizations, connections and API credentials."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from network.errors import InvalidInput, NotFound, Unauthorized
from network.partners import audit
from network.partners.models import (
    OWNER,
    RETAILER,
    SCOPES_BY_KIND,
    VENDOR,
    AccessToken,
    ApiClient,
    Connection,
    Organization,
    User,
)
from network.partners.token_cache import TokenCache

TOKEN_LIFETIME = dt.timedelta(hours=1)
CONNECTION_TERMS = (
    "ack_sla_hours",
    "ship_sla_hours",
    "safety_buffer",
    "stale_after_minutes",
    "routing_priority",
    "status",
)


def hash_secret(secret: str) -> str:
    # Secrets and tokens are long random strings, so a fast hash is enough to keep them unusable at rest.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_organization(session: Session, *, kind: str, name: str, now: dt.datetime) -> Organization:
    """Create a retailer or vendor organization."""
    if kind not in (RETAILER, VENDOR):
        raise InvalidInput(errors={"kind": ["must be retailer or vendor"]})
    org = Organization(kind=kind, name=name, created_at=now)
    session.add(org)
    session.flush()
    return org


def get_organization(session: Session, org_id: int, *, kind: str | None = None) -> Organization:
    """Raises NotFound."""
    org = session.get(Organization, org_id)
    if org is None or (kind is not None and org.kind != kind):
        raise NotFound(f"organization {org_id} not found")
    return org


def connect(
    session: Session, *, retailer_id: int, vendor_id: int, now: dt.datetime, **terms: int | str
) -> Connection:
    """Create (or reactivate with new terms) the partnership between a retailer and a vendor."""
    get_organization(session, retailer_id, kind=RETAILER)
    get_organization(session, vendor_id, kind=VENDOR)
    conn = session.scalar(
        sa.select(Connection).where(Connection.retailer_id == retailer_id, Connection.vendor_id == vendor_id)
    )
    if conn is None:
        conn = Connection(retailer_id=retailer_id, vendor_id=vendor_id, created_at=now, updated_at=now)
        session.add(conn)
    conn.status = "active"
    _set_terms(conn, terms, now)
    session.flush()
    return conn


def list_connections(session: Session, *, org_id: int) -> list[Connection]:
    return list(
        session.scalars(
            sa.select(Connection)
            .where(sa.or_(Connection.retailer_id == org_id, Connection.vendor_id == org_id))
            .order_by(Connection.id)
        )
    )


def get_connection(session: Session, connection_id: int, *, org_id: int) -> Connection:
    """Return a connection the organization is party to. Raises NotFound."""
    conn = session.get(Connection, connection_id)
    if conn is None or org_id not in (conn.retailer_id, conn.vendor_id):
        raise NotFound(f"connection {connection_id} not found")
    return conn


def update_connection_terms(
    session: Session, connection_id: int, *, retailer_id: int, terms: dict, now: dt.datetime
) -> Connection:
    """Change the terms of a retailer's connection. Raises NotFound, InvalidInput."""
    conn = get_connection(session, connection_id, org_id=retailer_id)
    if conn.retailer_id != retailer_id:
        raise NotFound(f"connection {connection_id} not found")
    _set_terms(conn, terms, now)
    session.flush()
    return conn


def _set_terms(conn: Connection, terms: dict, now: dt.datetime) -> None:
    check_terms(terms)
    for name, value in terms.items():
        setattr(conn, name, value)
    conn.updated_at = now


def check_terms(terms: dict) -> None:
    """Raises InvalidInput naming each unknown or out-of-range connection term."""
    unknown = set(terms) - set(CONNECTION_TERMS)
    if unknown:
        raise InvalidInput(errors={name: ["unknown term"] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    for name, value in terms.items():
        if name == "status":
            if value not in ("active", "paused", "ended"):
                errors[name] = ["must be active, paused or ended"]
        elif not isinstance(value, int) or isinstance(value, bool):
            errors[name] = ["must be an integer"]
        elif name in ("ack_sla_hours", "ship_sla_hours", "stale_after_minutes") and value <= 0:
            errors[name] = ["must be positive"]
        elif name == "safety_buffer" and value < 0:
            errors[name] = ["must not be negative"]
    if errors:
        raise InvalidInput("invalid connection terms", errors=errors)


def active_connection_exists(session: Session, *, retailer_id: int, vendor_id: int) -> bool:
    return (
        session.scalar(
            sa.select(Connection.id).where(
                Connection.retailer_id == retailer_id,
                Connection.vendor_id == vendor_id,
                Connection.status == "active",
            )
        )
        is not None
    )


# --- API clients and tokens -------------------------------------------------------------------


def create_api_client(
    session: Session,
    *,
    org_id: int,
    name: str = "",
    scopes: list[str] | None = None,
    actor: audit.Actor | None = None,
    now: dt.datetime,
) -> tuple[ApiClient, str]:
    """Create an OAuth client; return it with its secret, which is never shown again.

    With an `actor` (a person in the portal or the console, an operator's command) the creation
    goes to the organization's audit log; the hub's own seeding (demo, benchmarks) passes none.
    Raises InvalidInput (a scope of the other side, an over-long name).
    """
    org = get_organization(session, org_id)
    allowed = SCOPES_BY_KIND[org.kind]
    scopes = list(allowed) if scopes is None else scopes
    bad = [s for s in scopes if s not in allowed]
    if bad:
        raise InvalidInput(errors={"scopes": [f"not a {org.kind} scope: {s}" for s in bad]})
    if not scopes:
        raise InvalidInput("pick at least one scope", errors={"scopes": ["pick at least one scope"]})
    name = name.strip()
    if len(name) > 200:
        raise InvalidInput("the name is too long", errors={"name": ["at most 200 characters"]})
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        org_id=org_id,
        name=name,
        client_id=f"dn_{org.kind[0]}_{secrets.token_hex(12)}",
        secret_hash=hash_secret(secret),
        scopes=" ".join(scopes),
        created_at=now,
    )
    session.add(client)
    session.flush()
    if actor is not None:
        audit.record(
            session,
            org_id=org_id,
            actor=actor,
            action="api_client.created",
            subject=f"API client {client.client_id}",
            before=None,
            after={"name": client.name, "scopes": sorted(scopes)},
            now=now,
        )
    return client, secret


def list_api_clients(
    session: Session, *, org_id: int, after_id: int = 0, limit: int | None = None
) -> list[ApiClient]:
    """The organization's clients still in use, oldest first, after a position (keyset pages)."""
    query = (
        sa.select(ApiClient)
        .where(ApiClient.org_id == org_id, ApiClient.revoked_at.is_(None), ApiClient.id > after_id)
        .order_by(ApiClient.id)
    )
    return list(session.scalars(query if limit is None else query.limit(limit)))


def revoke_api_client(
    session: Session, client_pk: int, *, org_id: int, actor: audit.Actor, now: dt.datetime
) -> ApiClient:
    """Revoke a client and every token it holds, and say who did in the audit log.

    Raises NotFound (also another organization's client, or one already revoked).
    """
    client = session.get(ApiClient, client_pk)
    if client is None or client.org_id != org_id or client.revoked_at is not None:
        raise NotFound(f"client {client_pk} not found")
    client.revoked_at = now
    session.execute(sa.delete(AccessToken).where(AccessToken.client_pk == client.id))
    # This process forgets every token it remembers now and again at the commit (a request
    # reading the token meanwhile may have seen it still there); the others within the bound.
    _TOKENS.forget_all()
    session.info[_REVOKED] = True
    audit.record(
        session,
        org_id=org_id,
        actor=actor,
        action="api_client.revoked",
        subject=f"API client {client.client_id}",
        before={"revoked": False},
        after={"revoked": True},
        now=now,
    )
    return client


def find_client(session: Session, client_id: str) -> ApiClient | None:
    client = session.scalar(sa.select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.revoked_at is not None:
        return None
    return client


def client_secret_matches(client: ApiClient, secret: str) -> bool:
    return hmac.compare_digest(client.secret_hash, hash_secret(secret))


def granted_scopes(client: ApiClient, requested: str | None) -> str:
    """The scopes a token for `client` carries: those requested that it holds, or all it holds."""
    held = client.scopes.split()
    if not requested:
        return " ".join(held)
    return " ".join(scope for scope in requested.split() if scope in held)


def scopes_not_held(client: ApiClient, requested: str | None) -> set[str]:
    """The requested scopes `client` does not hold (a token request asking for them is refused)."""
    return set((requested or "").split()) - set(client.scopes.split())


def store_token(
    session: Session, *, client: ApiClient, token: str, scopes: str, expires_in: int, now: dt.datetime
) -> AccessToken:
    row = AccessToken(
        client_pk=client.id,
        org_id=client.org_id,
        token_hash=hash_secret(token),
        scopes=scopes,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=expires_in),
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Caller:
    """Who an API request acts for."""

    org_id: int
    kind: str
    scopes: frozenset[str]
    client_pk: int | None = None  # the API client the token was issued to (who the audit log names)


@functools.cache
def _token_query() -> sa.Select:
    # Built once: this runs on every API request, and building the statement cost more Python
    # than running it.
    return (
        sa.select(
            AccessToken.org_id,
            AccessToken.scopes,
            AccessToken.expires_at,
            AccessToken.client_pk,
            Organization.kind,
        )
        .join(Organization, Organization.id == AccessToken.org_id)
        .where(AccessToken.token_hash == sa.bindparam("token_hash"))
    )


def authenticate_token(
    session: Session, token: str, *, now: dt.datetime, cache_seconds: float = 0.0
) -> Caller:
    """Return the caller a bearer token stands for. Raises Unauthorized.

    With `cache_seconds`, what the database said is reused for that long in this process (never
    past the token's expiry, nor past a revocation: network/partners/token_cache.py).
    """
    token_hash = hash_secret(token)
    if cache_seconds > 0:
        cached = _TOKENS.get(token_hash, now=now, seconds=cache_seconds)
        if cached is not None:
            return cached
    generation = _TOKENS.generation()
    row = session.execute(_token_query(), {"token_hash": token_hash}).first()
    if row is None or row.expires_at <= now:
        raise Unauthorized("the access token is invalid or has expired")
    caller = Caller(
        org_id=row.org_id, kind=row.kind, scopes=frozenset(row.scopes.split()), client_pk=row.client_pk
    )
    if cache_seconds > 0:
        _TOKENS.put(token_hash, caller, expires_at=row.expires_at, generation=generation)
    return caller


_TOKENS: TokenCache[Caller] = TokenCache()
_REVOKED = "dropnet_api_client_revoked"


@sa.event.listens_for(Session, "after_commit")
def _forget_tokens_of_revoked_clients(session: Session) -> None:
    if session.info.pop(_REVOKED, False):
        _TOKENS.forget_all()


@sa.event.listens_for(Session, "after_rollback")
def _revocation_rolled_back(session: Session) -> None:
    session.info.pop(_REVOKED, None)


# --- users -----------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    org_id: int,
    email: str,
    password: str,
    name: str = "",
    role: str = OWNER,
    now: dt.datetime,
) -> User:
    """Create a user of an organization. Raises InvalidInput (bad email, email taken)."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise InvalidInput(errors={"email": ["not an email address"]})
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise InvalidInput(errors={"email": ["already registered"]})
    user = User(
        org_id=org_id,
        email=email,
        name=name,
        password_hash=generate_password_hash(password),
        role=role,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user
