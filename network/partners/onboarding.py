"""Onboarding by an operator (DESIGN §13): a new retailer or vendor and its owner, activated by email.

The owner gets no password from the operator: the organization is created with its owner user,
whose password is unusable until the owner follows a single-use activation link and chooses one.
The link is a password-set token (`PasswordReset`) that lives as long as an invite
(HUB_INVITE_TTL_DAYS), is stored only as its SHA-256, and works once.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy.orm import Session

from network.errors import InvalidInput
from network.mail import Email, render_email
from network.partners import services as partners
from network.partners.accounts import new_token, normalize_email
from network.partners.invites import DEFAULT_TTL
from network.partners.models import RETAILER, VENDOR, Organization, PasswordReset, User

# Where the owner chooses a password: retailers land in the console, vendors in the portal.
ACTIVATION_PATHS = {RETAILER: "/console/activate/", VENDOR: "/portal/reset/"}


def create_with_owner(
    session: Session,
    *,
    kind: str,
    name: str,
    owner_email: str,
    ttl: dt.timedelta = DEFAULT_TTL,
    now: dt.datetime,
) -> tuple[Organization, User, str]:
    """Create an organization and its owner; return them and the activation token (never stored).

    Raises InvalidInput (a name missing or too long, not an email address, the email taken).
    """
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name the organization", errors={"name": ["must be 1 to 200 characters"]})
    email = normalize_email(owner_email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email):
        raise InvalidInput("not an email address", errors={"owner_email": ["not an email address"]})
    org = partners.create_organization(session, kind=kind, name=name, now=now)
    # A random password nobody knows: the account cannot be signed in to before activation.
    user = partners.create_user(
        session, org_id=org.id, email=email, password=secrets.token_urlsafe(32), now=now
    )
    token, token_hash = new_token()
    session.add(PasswordReset(user_id=user.id, token_hash=token_hash, created_at=now, expires_at=now + ttl))
    session.flush()
    return org, user, token


def activation_email(
    org: Organization, user: User, token: str, *, public_url: str, expires_at: dt.datetime
) -> Email:
    """Compose the email that carries the owner's activation link."""
    where = "console" if org.kind == RETAILER else "portal"
    return render_email(
        "activation",
        to=user.email,
        subject=f"Activate {org.name} on Dropnet",
        link=public_url.rstrip("/") + ACTIVATION_PATHS[org.kind] + token,
        organization=org.name,
        email=user.email,
        where=where,
        expires_at=expires_at,
    )
