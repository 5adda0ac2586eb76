"""Organizations, their users, retailer–vendor connections and API clients."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import Base

RETAILER = "retailer"
# Users' roles, most powerful first (what each may do: network/partners/roles.py).
OWNER, ADMIN, OPERATOR, VIEWER = "owner", "admin", "operator", "viewer"
ROLES = (OWNER, ADMIN, OPERATOR, VIEWER)
VENDOR = "vendor"

RETAILER_SCOPES = (
    "catalog:read",
    "catalog:write",
    "availability:read",
    "orders:read",
    "orders:write",
    "webhooks:manage",
    "partners:manage",
    "connectors:manage",
)
VENDOR_SCOPES = ("inventory:write", "purchase_orders:read", "purchase_orders:write", "webhooks:manage")
SCOPES_BY_KIND = {RETAILER: RETAILER_SCOPES, VENDOR: VENDOR_SCOPES}


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    # Retailer policy: let the hub move a doubtful, unacknowledged line to another source.
    auto_reroute: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]

    __table_args__ = (sa.CheckConstraint("kind IN ('retailer', 'vendor')", name="kind"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    # Part of every portal session; a password reset bumps it, which signs out every other session.
    session_version: Mapped[int] = mapped_column(default=1, server_default=sa.text("1"))
    # What the user may do (network/partners/roles.py); an organization's first user is its owner.
    role: Mapped[str] = mapped_column(sa.String(16), default=OWNER, server_default=OWNER)
    created_at: Mapped[dt.datetime]

    organization: Mapped[Organization] = relationship()

    __table_args__ = (sa.CheckConstraint("role IN ('owner', 'admin', 'operator', 'viewer')", name="role"),)


class Connection(Base):
    """A retailer–vendor partnership and the terms the hub enforces on it."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    ack_sla_hours: Mapped[int] = mapped_column(default=24)
    ship_sla_hours: Mapped[int] = mapped_column(default=72)
    safety_buffer: Mapped[int] = mapped_column(default=0)
    stale_after_minutes: Mapped[int] = mapped_column(default=24 * 60)
    # Lower routes first.
    routing_priority: Mapped[int] = mapped_column(default=100)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    retailer: Mapped[Organization] = relationship(foreign_keys=[retailer_id])
    vendor: Mapped[Organization] = relationship(foreign_keys=[vendor_id])

    __table_args__ = (
        sa.UniqueConstraint("retailer_id", "vendor_id"),
        sa.CheckConstraint("status IN ('active', 'paused', 'ended')", name="status"),
        sa.CheckConstraint("safety_buffer >= 0", name="safety_buffer"),
        sa.CheckConstraint("stale_after_minutes > 0", name="stale_after"),
    )


class ApiClient(Base):
    """OAuth2 client-credentials client of one organization; the secret is kept only as a hash."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    scopes: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    organization: Mapped[Organization] = relationship()


class AccessToken(Base):
    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(sa.ForeignKey("api_clients.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(500))
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class Invite(Base):
    """An email invite: from a retailer to a vendor (a connection), or to a colleague joining a team
    (a vendor's users in the portal, a retailer's in the console).

    The link's token is kept only as its SHA-256; the token itself lives in the email.
    """

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one of the two: the retailer asking for a connection, or the organization (vendor or
    # retailer) a colleague joins.
    retailer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254))
    vendor_name: Mapped[str] = mapped_column(sa.String(200), default="")
    # Connection terms the accepted invite sets (see partners.services.CONNECTION_TERMS).
    terms: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    accepted_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    retailer: Mapped[Organization | None] = relationship(foreign_keys=[retailer_id])
    team: Mapped[Organization | None] = relationship(foreign_keys=[team_id])

    __table_args__ = (sa.CheckConstraint("(retailer_id IS NULL) <> (team_id IS NULL)", name="inviter"),)


class LoginAttempt(Base):
    """One portal sign-in attempt; recent failures throttle the account and the address."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    ip: Mapped[str] = mapped_column(sa.String(45))
    at: Mapped[dt.datetime]
    success: Mapped[bool]

    __table_args__ = (
        sa.Index("ix_login_attempts_email_at", "email", "at"),
        sa.Index("ix_login_attempts_ip_at", "ip", "at"),
    )


class SignupAttempt(Base):
    """One open sign-up (HUB_OPEN_SIGNUP) request; recent ones throttle the address and the email.

    Every request is counted, whatever became of it: each sends an email, and counting only those
    for new addresses would tell a prober which emails have an account.
    """

    __tablename__ = "signup_attempts"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    ip: Mapped[str] = mapped_column(sa.String(45))
    at: Mapped[dt.datetime]

    __table_args__ = (
        sa.Index("ix_signup_attempts_email_at", "email", "at"),
        sa.Index("ix_signup_attempts_ip_at", "ip", "at"),
    )


class PasswordReset(Base):
    """A single-use password reset link; the token is kept only as its SHA-256."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()
