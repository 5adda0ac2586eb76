"""Portal accounts: password rules, throttled sign-in, sessions that a reset ends, reset tokens."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from network.db import is_postgres
from network.errors import DomainError, InvalidInput, NotFound
from network.mail import Email, render_email
from network.partners.models import (
    OWNER,
    VENDOR,
    LoginAttempt,
    Organization,
    PasswordReset,
    SignupAttempt,
    User,
)
from network.partners.services import create_user, hash_secret

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 200
THROTTLE_WINDOW = dt.timedelta(minutes=15)
# An address is locked after this many failures (whatever the accounts): a guesser's own address.
THROTTLE_FAILURES = 5
# An account is locked only after this many failures from all addresses: guessing spread over
# many addresses. One guesser, locked at five, can no longer lock the owner out of its account.
ACCOUNT_THROTTLE_FAILURES = 20
# pg_advisory_xact_lock(namespace, key): sign-ins of one account, or from one address, take turns.
_LOCK_ACCOUNT, _LOCK_ADDRESS = 0x5167, 0x5168
RESET_LIFETIME = dt.timedelta(hours=1)
RESETS_PER_LIFETIME = 3
# Checked when the email matches no user, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


class Throttled(DomainError):
    status = 429
    title = "Too many failed sign-ins"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class TokenNotFound(NotFound):
    """A link whose token the hub never issued (mistyped, cut short, forged)."""

    title = "Link not valid"


class TokenGone(DomainError):
    """A link the hub issued that can no longer be used: used, expired or revoked."""

    status = 410
    title = "Link no longer valid"


def new_token() -> tuple[str, str]:
    """Return a random URL-safe token and the hash to store instead of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_secret(token)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Say what is wrong with a new password, in words a user can act on (empty: it is fine)."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"use at least {PASSWORD_MIN_LENGTH} characters (this one has {len(password)})")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"use at most {PASSWORD_MAX_LENGTH} characters")
    classes = {
        "lower": any(c.islower() for c in password),
        "upper": any(c.isupper() for c in password),
        "digit": any(c.isdigit() for c in password),
        "other": any(not c.isalnum() for c in password),
    }
    if password and sum(classes.values()) < 2:
        problems.append("mix at least two kinds of characters (lower case, upper case, digits, symbols)")
    email = normalize_email(email)
    lowered = password.strip().lower()
    if email and lowered and (lowered == email or lowered == email.partition("@")[0]):
        problems.append("do not use your email address as the password")
    return problems


def check_password_strength(password: str, *, email: str = "") -> None:
    """Raises InvalidInput with the reasons under `password`."""
    problems = password_problems(password, email=email)
    if problems:
        raise InvalidInput("the password is too weak: " + "; ".join(problems), errors={"password": problems})


def register_user(
    session: Session,
    *,
    org_id: int,
    email: str,
    password: str,
    name: str = "",
    role: str = OWNER,
    now: dt.datetime,
) -> User:
    """Create a portal user with a strong enough password. Raises InvalidInput."""
    check_password_strength(password, email=email)
    return create_user(session, org_id=org_id, email=email, password=password, name=name, role=role, now=now)


def list_users(session: Session, *, org_id: int) -> list[User]:
    return list(session.scalars(sa.select(User).where(User.org_id == org_id).order_by(User.email)))


# --- signing in ------------------------------------------------------------------------------


def sign_in(
    session: Session, *, email: str, password: str, ip: str, now: dt.datetime, kind: str = VENDOR
) -> User | None:
    """Check the credentials of a user of a `kind` of organization (the portal's vendors, the
    console's retailers) and record the attempt; None when they are wrong.

    The throttle is checked before the password, so a locked-out guesser learns nothing.
    Raises Throttled.
    """
    email = normalize_email(email)[:254]
    ip = ip[:45]
    _take_turns(session, email=email, ip=ip)
    check_throttle(session, email=email, ip=ip, now=now)
    user = session.scalar(
        sa.select(User).join(Organization, Organization.id == User.org_id).where(User.email == email)
    )
    matches = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = user is not None and matches and user.organization.kind == kind
    session.add(LoginAttempt(email=email, ip=ip, at=now, success=ok))
    session.flush()
    return user if ok else None


def _take_turns(session: Session, *, email: str, ip: str) -> None:
    """Make check-then-record atomic: concurrent guesses at one account or from one address wait.

    Without it, twenty guesses sent at once all passed the check before any was recorded.
    PostgreSQL: transaction-scoped advisory locks, account before address (one order, no
    deadlock). SQLite: the unit of work already began with BEGIN IMMEDIATE, one writer at a time.
    """
    if not is_postgres(session):
        return
    for namespace, key in ((_LOCK_ACCOUNT, email), (_LOCK_ADDRESS, ip)):
        session.execute(
            sa.select(sa.func.pg_advisory_xact_lock(namespace, sa.func.hashtext(key))),
        )


def check_throttle(session: Session, *, email: str, ip: str, now: dt.datetime) -> None:
    """Refuse when the address or the account had too many recent failures. Raises Throttled.

    An address is locked after THROTTLE_FAILURES; an account after ACCOUNT_THROTTLE_FAILURES from
    all addresses, so one guesser locks its own address, not the owner's account. An account's
    count restarts at its last successful sign-in (only the owner can make one); an address's does
    not, or a guesser could reset it by signing in to an account of its own.
    """
    since = now - THROTTLE_WINDOW
    last_success = (
        sa.select(sa.func.max(LoginAttempt.at))
        .where(LoginAttempt.email == email, LoginAttempt.success.is_(True), LoginAttempt.at > since)
        .scalar_subquery()
    )
    by_account = sa.select(LoginAttempt.at).where(
        LoginAttempt.email == email,
        LoginAttempt.success.is_(False),
        LoginAttempt.at > sa.func.coalesce(last_success, since),
    )
    by_address = sa.select(LoginAttempt.at).where(
        LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > since
    )
    for query, limit, what in (
        (by_address, THROTTLE_FAILURES, "your address"),
        (by_account, ACCOUNT_THROTTLE_FAILURES, "this account"),
    ):
        failures = list(session.scalars(query.order_by(LoginAttempt.at.desc()).limit(limit)))
        if len(failures) >= limit:
            # Free again when the oldest of the last `limit` failures leaves the window.
            wait = max(1, math.ceil((failures[-1] + THROTTLE_WINDOW - now).total_seconds()))
            minutes = math.ceil(wait / 60)
            raise Throttled(
                f"Too many failed sign-ins for {what} in the last {THROTTLE_WINDOW.seconds // 60} minutes. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, or reset your password.",
                retry_after=wait,
            )


def prune_login_attempts(session: Session, *, now: dt.datetime, keep: dt.timedelta) -> int:
    """Delete sign-in attempts older than `keep`; return how many went.

    Never closer than THROTTLE_WINDOW: the throttle counts the failures of that window, and
    pruning them would let a guesser back in early.
    """
    before = now - max(keep, THROTTLE_WINDOW)
    dropped = session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < before)).rowcount or 0
    # Open sign-up requests are throttled the same way, over the same window.
    return dropped + (
        session.execute(sa.delete(SignupAttempt).where(SignupAttempt.at < before)).rowcount or 0
    )


@dataclass(frozen=True)
class SessionUser:
    """Who a portal session stands for."""

    id: int
    org_id: int
    email: str
    name: str
    org_name: str
    role: str = OWNER


def session_user(session: Session, *, user_id: int, version: int, kind: str = VENDOR) -> SessionUser | None:
    """Return the user (of a `kind` of organization) of a session cookie, or None if the session
    was ended by a reset or sign-out, or the user is of the other side."""
    row = session.execute(
        sa.select(
            User.id, User.org_id, User.email, User.name, User.session_version, Organization.name, User.role
        )
        .join(Organization, Organization.id == User.org_id)
        .where(User.id == user_id, Organization.kind == kind)
    ).first()
    if row is None or row.session_version != version:
        return None
    return SessionUser(
        id=row.id, org_id=row.org_id, email=row.email, name=row.name, org_name=row[5], role=row.role
    )


def end_sessions(session: Session, *, user_id: int) -> None:
    """Sign a user out everywhere: every cookie carrying the old session version stops working.

    The cookie is signed, not stored: clearing it in one browser leaves any copy of it valid, so
    signing out has to change what the server accepts (as a password reset does).
    """
    session.execute(
        sa.update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
    )


# --- password reset --------------------------------------------------------------------------


def start_password_reset(session: Session, *, email: str, now: dt.datetime) -> tuple[User, str] | None:
    """Issue a reset token for a vendor user's email.

    None (and nothing issued) for an unknown email, or when three links were issued in the last hour.
    """
    user = session.scalar(
        sa.select(User)
        .join(Organization, Organization.id == User.org_id)
        .where(User.email == normalize_email(email), Organization.kind == VENDOR)
    )
    if user is None:
        return None
    recent = session.scalar(
        sa.select(sa.func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - RESET_LIFETIME)
    )
    if recent >= RESETS_PER_LIFETIME:
        return None  # enough links are on their way; nobody can fill the inbox with them
    token, token_hash = new_token()
    session.add(
        PasswordReset(user_id=user.id, token_hash=token_hash, created_at=now, expires_at=now + RESET_LIFETIME)
    )
    session.flush()
    return user, token


def open_password_reset(session: Session, token: str, *, now: dt.datetime) -> PasswordReset:
    """Return the reset a link stands for while it can be used. Raises TokenNotFound, TokenGone."""
    reset = session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == hash_secret(token)))
    if reset is None:
        raise TokenNotFound("This password reset link is not valid. Check that you copied all of it.")
    if reset.used_at is not None:
        raise TokenGone("This password reset link was already used. Ask for a new one if you need it.")
    if reset.expires_at <= now:
        # Reset links last an hour, activation links as long as an invite: say neither.
        raise TokenGone(f"This link expired on {reset.expires_at:%Y-%m-%d %H:%M} UTC. Ask for a new one.")
    return reset


def reset_password(session: Session, token: str, *, password: str, now: dt.datetime) -> User:
    """Set a new password from a reset link and end every session of the user.

    Raises TokenNotFound, TokenGone, InvalidInput (weak password).
    """
    reset = open_password_reset(session, token, now=now)
    user = reset.user
    check_password_strength(password, email=user.email)
    claimed = session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        raise TokenGone("This password reset link was already used. Ask for a new one if you need it.")
    # Every other link of the user goes too: the one just used is the answer to all of them.
    session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    user.password_hash = generate_password_hash(password)
    user.session_version = user.session_version + 1
    session.flush()
    return user


RESET_PATH = "/portal/reset/"


def reset_email(user: User, token: str, *, public_url: str) -> Email:
    """Compose the email that carries a password reset link."""
    return render_email(
        "reset",
        to=user.email,
        subject="Choose a new Dropnet password",
        link=public_url.rstrip("/") + RESET_PATH + token,
        name=user.name,
        email=user.email,
    )
