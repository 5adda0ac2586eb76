"""Onboarding (DESIGN §13): a new retailer or vendor and its owner, activated by email.

By an operator (`hub create-retailer`) or, with HUB_OPEN_SIGNUP, by anyone on the console's
sign-up page. The owner gets no password from anyone: the organization is created with its owner
user, whose password is unusable until the owner follows a single-use activation link and chooses
one. The link is a password-set token (`PasswordReset`) that lives as long as an invite
(HUB_INVITE_TTL_DAYS), is stored only as its SHA-256, and works once.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from network.db import is_postgres
from network.errors import InvalidInput
from network.mail import Email, render_email
from network.partners import audit
from network.partners import services as partners
from network.partners.accounts import THROTTLE_WINDOW, Throttled, new_token, normalize_email
from network.partners.invites import DEFAULT_TTL
from network.partners.models import (
    OWNER,
    RETAILER,
    VENDOR,
    ApiClient,
    Connection,
    Invite,
    Organization,
    PasswordReset,
    SignupAttempt,
    User,
)

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
    name, email = _check(name, owner_email)
    org = partners.create_organization(session, kind=kind, name=name, now=now)
    # A random password nobody knows: the account cannot be signed in to before activation.
    user = partners.create_user(
        session, org_id=org.id, email=email, password=secrets.token_urlsafe(32), now=now
    )
    return org, user, _activation_token(session, user, ttl=ttl, now=now)


def _check(name: str, owner_email: str) -> tuple[str, str]:
    """Return the name and email, cleaned. Raises InvalidInput."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name the organization", errors={"name": ["must be 1 to 200 characters"]})
    email = normalize_email(owner_email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise InvalidInput("not an email address", errors={"owner_email": ["not an email address"]})
    return name, email


def _activation_token(session: Session, user: User, *, ttl: dt.timedelta, now: dt.datetime) -> str:
    token, token_hash = new_token()
    session.add(PasswordReset(user_id=user.id, token_hash=token_hash, created_at=now, expires_at=now + ttl))
    session.flush()
    return token


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


# --- open sign-up (HUB_OPEN_SIGNUP) ----------------------------------------------------------

# Like the sign-in throttle (network/partners/accounts.py), over its window: an address may ask
# this many times (a guesser of who has an account, a spammer of strangers' inboxes), an email
# this many (each request sends it an email; three unread ones are enough).
SIGNUPS_PER_ADDRESS = 5
SIGNUPS_PER_EMAIL = 3
SIGNED_UP = "organization.signed_up"
LOGIN_PATHS = {RETAILER: "/console/login", VENDOR: "/portal/login"}
# pg_advisory_xact_lock(namespace, key): sign-ups for one email, or from one address, take turns.
_LOCK_EMAIL, _LOCK_ADDRESS = 0x5169, 0x516A


class SignupThrottled(Throttled):
    title = "Too many sign-ups"


def sign_up(
    session: Session,
    *,
    name: str,
    email: str,
    ip: str,
    public_url: str,
    ttl: dt.timedelta = DEFAULT_TTL,
    now: dt.datetime,
) -> Email:
    """Someone asks for a retailer organization: return the email to send once this commits.

    The email is the proof: nothing is usable until its owner follows the link (the owner has no
    password before). The answer is an email whatever the address's story, so the page can say the
    same thing every time and never tells a prober whether an account exists:
    - a new email: the organization and its owner, with an activation link (as `hub create-retailer`);
    - an email whose retailer sign-up was never activated: no second organization; a new link
      (the older ones die), and the name given now, since nobody could ever have used the old one;
    - an email with an account: a note saying so, with where to sign in; nothing else changes.
    Raises InvalidInput (nothing recorded), Throttled.
    """
    name, email = _check(name, email)
    ip = ip[:45]
    _take_turns(session, email=email, ip=ip)
    _check_signup_throttle(session, email=email, ip=ip, now=now)
    session.add(SignupAttempt(email=email, ip=ip, at=now))
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        org, user, token = create_with_owner(
            session, kind=RETAILER, name=name, owner_email=email, ttl=ttl, now=now
        )
        audit.record(
            session,
            org_id=org.id,
            actor=audit.Actor(),
            action=SIGNED_UP,
            subject=f"organization {org.id}",
            before=None,
            after={"name": org.name, "owner_email": email},
            now=now,
        )
        return activation_email(org, user, token, public_url=public_url, expires_at=now + ttl)
    # The paths below create no user: hash a throwaway password as creating one does, so that a
    # known email answers as slowly as a new one.
    generate_password_hash(secrets.token_urlsafe(16))
    if _never_activated(session, user):
        org = user.organization
        # The older links die: the newest email is the one to follow.
        session.execute(
            sa.update(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
            .values(expires_at=now)
        )
        if _signed_up(session, org.id) and org.name != name:
            audit.record(
                session,
                org_id=org.id,
                actor=audit.Actor(),
                action="organization.renamed",
                subject=f"organization {org.id}",
                before={"name": org.name},
                after={"name": name},
                now=now,
            )
            org.name = name
        token = _activation_token(session, user, ttl=ttl, now=now)
        return activation_email(org, user, token, public_url=public_url, expires_at=now + ttl)
    session.flush()
    return render_email(
        "account_exists",
        to=user.email,
        subject="You already have a Dropnet account",
        organization=user.organization.name,
        email=user.email,
        # Not the name asked for: a stranger's text never reaches an existing user's inbox.
        link=public_url.rstrip("/") + LOGIN_PATHS[user.organization.kind],
    )


def _never_activated(session: Session, user: User) -> bool:
    """A retailer owner who was sent activation links and followed none: nobody ever signed in.

    Users made another way (demo, invites, builders) have no link at all and count as active.
    """
    if user.role != OWNER or user.organization.kind != RETAILER:
        return False
    used = sa.func.count(PasswordReset.used_at)
    issued, followed = session.execute(
        sa.select(sa.func.count(PasswordReset.id), used).where(PasswordReset.user_id == user.id)
    ).one()
    return issued > 0 and followed == 0


def _signed_up(session: Session, org_id: int) -> bool:
    """Whether the organization came from the open sign-up (not from an operator, whose name stays)."""
    return (
        session.scalar(
            sa.select(audit.AuditEntry.id)
            .where(audit.AuditEntry.org_id == org_id, audit.AuditEntry.action == SIGNED_UP)
            .limit(1)
        )
        is not None
    )


def _take_turns(session: Session, *, email: str, ip: str) -> None:
    """Check-then-record atomically (see accounts._take_turns): concurrent sign-ups for one email
    neither pass the throttle together nor create two organizations."""
    if not is_postgres(session):
        return
    for namespace, key in ((_LOCK_EMAIL, email), (_LOCK_ADDRESS, ip)):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(namespace, sa.func.hashtext(key))))


def _check_signup_throttle(session: Session, *, email: str, ip: str, now: dt.datetime) -> None:
    """Raises Throttled when the address or the email asked too often in the window."""
    since = now - THROTTLE_WINDOW
    for column, value, limit, what in (
        (SignupAttempt.ip, ip, SIGNUPS_PER_ADDRESS, "your address"),
        (SignupAttempt.email, email, SIGNUPS_PER_EMAIL, "this email"),
    ):
        recent = list(
            session.scalars(
                sa.select(SignupAttempt.at)
                .where(column == value, SignupAttempt.at > since)
                .order_by(SignupAttempt.at.desc())
                .limit(limit)
            )
        )
        if len(recent) >= limit:
            wait = max(1, math.ceil((recent[-1] + THROTTLE_WINDOW - now).total_seconds()))
            minutes = math.ceil(wait / 60)
            raise SignupThrottled(
                f"Too many sign-ups from {what} in the last {THROTTLE_WINDOW.seconds // 60} minutes. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                retry_after=wait,
            )


# A signed-up organization whose every activation link expired this long ago is deleted.
ABANDONED_AFTER = dt.timedelta(days=1)


def prune_abandoned_signups(
    session: Session, *, now: dt.datetime, grace: dt.timedelta = ABANDONED_AFTER
) -> int:
    """Delete the retailers opened by the sign-up page whose owner never followed a link and whose
    last link expired more than `grace` ago; return how many went.

    Nobody could ever sign in to them, and nothing was made for them (no API client, invite or
    connection, which an operator could have added by CLI: those are kept). Without this, every
    stranger's address typed on the page would leave an organization behind for good. A later
    sign-up for the address simply starts afresh. Their users, links and audit entries go with them
    (ON DELETE CASCADE).
    """
    links = (
        sa.select(PasswordReset.id)
        .join(User, User.id == PasswordReset.user_id)
        .where(User.org_id == Organization.id)
    )
    abandoned = list(
        session.scalars(
            sa.select(Organization.id).where(
                Organization.kind == RETAILER,
                sa.exists().where(
                    audit.AuditEntry.org_id == Organization.id, audit.AuditEntry.action == SIGNED_UP
                ),
                links.exists(),
                ~links.where(PasswordReset.used_at.is_not(None)).exists(),
                ~links.where(PasswordReset.expires_at > now - grace).exists(),
                ~sa.exists().where(ApiClient.org_id == Organization.id),
                ~sa.exists().where(Invite.retailer_id == Organization.id),
                ~sa.exists().where(Connection.retailer_id == Organization.id),
            )
        )
    )
    if abandoned:
        session.execute(sa.delete(Organization).where(Organization.id.in_(abandoned)))
    return len(abandoned)
