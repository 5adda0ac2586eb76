"""Email invites (DESIGN §2): a retailer invites a vendor, a vendor user invites a colleague.

The token travels only in the email; the hub keeps its SHA-256. An invite is accepted once,
before it expires and unless it was revoked; accepting a retailer's invite activates the
connection with the invite's terms.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.errors import Conflict, InvalidInput, NotFound
from network.mail import Email, render_email
from network.partners import audit, roles
from network.partners import services as partners
from network.partners.accounts import (
    TokenGone,
    TokenNotFound,
    new_token,
    normalize_email,
    register_user,
)
from network.partners.models import RETAILER, VENDOR, Connection, Invite, User
from network.signals import Signal

DEFAULT_TTL = dt.timedelta(days=7)
PENDING, ACCEPTED, EXPIRED, REVOKED = "pending", "accepted", "expired", "revoked"
INVITE_PATH = "/portal/invites/"
# Where a colleague accepts: a vendor's in the portal, a retailer's in the console.
COLLEAGUE_PATHS = {VENDOR: INVITE_PATH, RETAILER: "/console/invites/"}
# An accepted retailer invite (re)activated a connection (session, conn, now=): the vendor's stock
# counts again for the retailer's items, so availability publishes them (network/availability/).
connected_by_invite = Signal("partners.connected_by_invite")


def invite_ttl(days: object = None) -> dt.timedelta:
    """How long an invite lives: the setting (HUB_INVITE_TTL_DAYS) when it is a positive number of days."""
    if days in (None, "", False):
        return DEFAULT_TTL
    if isinstance(days, bool) or not isinstance(days, int | float | str):
        raise ValueError(f"HUB_INVITE_TTL_DAYS must be a number of days, not {days!r}")
    value = float(days)
    if value <= 0:
        raise ValueError(f"HUB_INVITE_TTL_DAYS must be positive, not {days!r}")
    return dt.timedelta(days=value)


def invite_status(invite: Invite, now: dt.datetime) -> str:
    if invite.accepted_at is not None:
        return ACCEPTED
    if invite.revoked_at is not None:
        return REVOKED
    return EXPIRED if invite.expires_at <= now else PENDING


def _check_email(email: str) -> str:
    email = normalize_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise InvalidInput("not an email address", errors={"email": ["not an email address"]})
    return email


def create_invite(
    session: Session,
    *,
    email: str,
    vendor_name: str = "",
    retailer_id: int | None = None,
    team_id: int | None = None,
    terms: dict | None = None,
    invited_by_user_id: int | None = None,
    ttl: dt.timedelta = DEFAULT_TTL,
    now: dt.datetime,
) -> tuple[Invite, str]:
    """Invite a vendor to a retailer (retailer_id) or a colleague to a team (team_id: a vendor's or
    a retailer's users; the colleague joins with roles.INVITED_ROLE).

    Return the invite and its token, which is never stored: put it in the email and forget it.
    Raises InvalidInput, NotFound (the inviting organization).
    """
    if (retailer_id is None) == (team_id is None):
        raise ValueError(
            "an invite is a retailer's to a vendor or a team's to a colleague, not both or neither"
        )
    email = _check_email(email)
    vendor_name = vendor_name.strip()
    terms = dict(terms or {})
    if retailer_id is not None:
        partners.get_organization(session, retailer_id, kind=RETAILER)
        if not 1 <= len(vendor_name) <= 200:
            raise InvalidInput("name the vendor", errors={"vendor_name": ["must be 1 to 200 characters"]})
        partners.check_terms(terms)
    else:
        team = partners.get_organization(session, team_id)
        vendor_name = team.name if team.kind == VENDOR else ""
        terms = {}
        if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
            raise InvalidInput(
                "this email already has a Dropnet account", errors={"email": ["already has an account"]}
            )
    if ttl <= dt.timedelta(0):
        raise ValueError("an invite must live for some time")
    token, token_hash = new_token()
    invite = Invite(
        retailer_id=retailer_id,
        team_id=team_id,
        email=email,
        vendor_name=vendor_name,
        terms=terms,
        token_hash=token_hash,
        invited_by_user_id=invited_by_user_id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invite)
    session.flush()
    return invite, token


def list_invites(
    session: Session,
    *,
    org_id: int,
    after_id: int = 0,
    limit: int = 100,
    pending_at: dt.datetime | None = None,
    colleagues: bool = False,
) -> list[Invite]:
    """Return the invites an organization sent, a retailer's to vendors (or, with `colleagues`, the
    team's to colleagues), oldest first; with `pending_at`, only those that can still be accepted."""
    sender = Invite.team_id if colleagues else Invite.retailer_id
    query = sa.select(Invite).where(sender == org_id, Invite.id > after_id)
    if pending_at is not None:
        query = query.where(
            Invite.accepted_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > pending_at
        )
    return list(session.scalars(query.order_by(Invite.id).limit(limit)))


def get_invite(session: Session, invite_id: int, *, org_id: int, colleague: bool = False) -> Invite:
    """Return a vendor invite the retailer sent (or, with `colleague`, a colleague invite of the
    team). Raises NotFound, also for the other kind: a colleague invite is no vendor invite."""
    invite = session.get(Invite, invite_id)
    if invite is None or org_id != (invite.team_id if colleague else invite.retailer_id):
        raise NotFound(f"invite {invite_id} not found")
    return invite


def revoke_invite(
    session: Session, invite_id: int, *, org_id: int, now: dt.datetime, colleague: bool = False
) -> Invite:
    """Make an invite's link useless; revoking twice is harmless. Raises NotFound, Conflict (accepted)."""
    invite = get_invite(session, invite_id, org_id=org_id, colleague=colleague)
    if invite.accepted_at is not None:
        raise Conflict(f"invite {invite_id} was already accepted; change the connection instead")
    if invite.revoked_at is None:
        invite.revoked_at = now
        session.flush()
    return invite


# --- a retailer's vendor invites, as the audit log records them (the console and the API) --------


def _audited(invite: Invite) -> dict:
    return {
        "email": invite.email,
        "vendor_name": invite.vendor_name,
        "expires_at": invite.expires_at.isoformat(timespec="seconds"),
    }


def invite_vendor(
    session: Session,
    *,
    retailer_id: int,
    email: str,
    vendor_name: str,
    terms: dict | None = None,
    actor: audit.Actor,
    ttl: dt.timedelta = DEFAULT_TTL,
    now: dt.datetime,
) -> tuple[Invite, str]:
    """A retailer invites a vendor: create_invite, and the audit log's entry. Raises InvalidInput, NotFound."""
    invite, token = create_invite(
        session,
        retailer_id=retailer_id,
        email=email,
        vendor_name=vendor_name,
        terms=terms,
        invited_by_user_id=actor.user_id,
        ttl=ttl,
        now=now,
    )
    audit.record(
        session,
        org_id=retailer_id,
        actor=actor,
        action="vendor_invite.sent",
        subject=f"vendor invite {invite.id}",
        before=None,
        after={**_audited(invite), "terms": invite.terms},
        now=now,
    )
    return invite, token


def resend_invite(
    session: Session,
    invite_id: int,
    *,
    retailer_id: int,
    actor: audit.Actor,
    ttl: dt.timedelta = DEFAULT_TTL,
    now: dt.datetime,
) -> tuple[Invite, str]:
    """Send a vendor invite again: a new invite (new link, new expiry, same email, name and terms)
    replaces it, and the old one is revoked, so only the newest email's link works.

    A pending or an expired invite can be sent again. Raises NotFound (another organization's),
    Conflict (accepted or revoked).
    """
    old = get_invite(session, invite_id, org_id=retailer_id)
    if old.retailer_id != retailer_id:  # a vendor's colleague invite is no retailer's
        raise NotFound(f"invite {invite_id} not found")
    status = invite_status(old, now)
    if status in (ACCEPTED, REVOKED):
        raise Conflict(f"invite {invite_id} was {status}; invite the vendor again instead")
    old.revoked_at = now
    invite, token = create_invite(
        session,
        retailer_id=retailer_id,
        email=old.email,
        vendor_name=old.vendor_name,
        terms=old.terms,
        invited_by_user_id=actor.user_id,
        ttl=ttl,
        now=now,
    )
    audit.record(
        session,
        org_id=retailer_id,
        actor=actor,
        action="vendor_invite.resent",
        subject=f"vendor invite {invite.id}",
        before={"invite_id": old.id, "status": status, "expires_at": _audited(old)["expires_at"]},
        after={"invite_id": invite.id, **_audited(invite)},
        now=now,
    )
    return invite, token


def revoke_vendor_invite(
    session: Session, invite_id: int, *, retailer_id: int, actor: audit.Actor, now: dt.datetime
) -> Invite:
    """revoke_invite, and the audit log's entry (none when it was revoked already: nothing changed).

    Raises NotFound, Conflict (accepted).
    """
    was = invite_status(get_invite(session, invite_id, org_id=retailer_id), now)
    invite = revoke_invite(session, invite_id, org_id=retailer_id, now=now)
    if was != REVOKED:
        audit.record(
            session,
            org_id=retailer_id,
            actor=actor,
            action="vendor_invite.revoked",
            subject=f"vendor invite {invite.id}",
            before={"status": was, "email": invite.email},
            after={"status": REVOKED, "email": invite.email},
            now=now,
        )
    return invite


def outstanding_invites(
    session: Session, *, retailer_id: int, after_id: int = 0, limit: int = 50
) -> list[Invite]:
    """A retailer's invites nobody accepted or revoked (pending, or expired and worth resending),
    oldest first, after a position (keyset: one query per page)."""
    return list(
        session.scalars(
            sa.select(Invite)
            .where(
                Invite.retailer_id == retailer_id,
                Invite.id > after_id,
                Invite.accepted_at.is_(None),
                Invite.revoked_at.is_(None),
            )
            .order_by(Invite.id)
            .limit(limit)
        )
    )


def open_invite(session: Session, token: str, *, now: dt.datetime) -> Invite:
    """Return the invite a link stands for while it can be accepted. Raises TokenNotFound, TokenGone."""
    invite = session.scalar(sa.select(Invite).where(Invite.token_hash == partners.hash_secret(token)))
    if invite is None:
        raise TokenNotFound("This invite link is not valid. Check that you copied all of it from the email.")
    status = invite_status(invite, now)
    if status != PENDING:
        raise TokenGone(_gone_reason(invite, status))
    return invite


def _gone_reason(invite: Invite, status: str) -> str:
    inviter = inviter_name(invite)
    if status == ACCEPTED:
        return "This invite was already accepted. Sign in to the portal to continue."
    if status == REVOKED:
        # Withdrawn, or replaced by a newer link when the invite was sent again.
        return (
            f"{inviter} withdrew this invite or sent a newer one. Use the link in their latest "
            "email, or ask them for a new one if you still need it."
        )
    return f"This invite expired on {invite.expires_at:%Y-%m-%d %H:%M} UTC. Ask {inviter} for a new one."


def inviter_name(invite: Invite) -> str:
    org = invite.retailer if invite.retailer_id is not None else invite.team
    return org.name if org is not None else "the inviter"


def _claim(session: Session, invite: Invite, *, user_id: int, now: dt.datetime) -> None:
    """Mark the invite used, once: a second, concurrent acceptance finds it taken. Raises TokenGone."""
    claimed = session.execute(
        sa.update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.accepted_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
        .values(accepted_at=now, accepted_by_user_id=user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise TokenGone("This invite was just used or withdrawn. Sign in to the portal to continue.")
    session.refresh(invite)


def _connect(session: Session, invite: Invite, *, vendor_id: int, now: dt.datetime) -> Connection:
    conn = partners.connect(
        session, retailer_id=invite.retailer_id, vendor_id=vendor_id, now=now, **invite.terms
    )
    connected_by_invite.send(session, conn, now=now)
    return conn


def accept_as_new_vendor(
    session: Session,
    token: str,
    *,
    organization_name: str,
    name: str,
    email: str,
    password: str,
    now: dt.datetime,
) -> User:
    """Accept a retailer's invite by creating the vendor organization and its first user.

    Raises TokenNotFound, TokenGone, InvalidInput.
    """
    invite = open_invite(session, token, now=now)
    if invite.retailer_id is None:
        raise InvalidInput("this invite is to join an existing vendor; create your user instead")
    organization_name = organization_name.strip()
    if not 1 <= len(organization_name) <= 200:
        raise InvalidInput(
            "name your organization", errors={"organization_name": ["must be 1 to 200 characters"]}
        )
    org = partners.create_organization(session, kind=VENDOR, name=organization_name, now=now)
    user = register_user(
        session, org_id=org.id, email=_check_email(email), password=password, name=name, now=now
    )
    _claim(session, invite, user_id=user.id, now=now)
    _connect(session, invite, vendor_id=org.id, now=now)
    return user


def accept_as_member(session: Session, token: str, *, user_id: int, now: dt.datetime) -> Connection:
    """Accept a retailer's invite for the vendor an existing user belongs to.

    Raises TokenNotFound, TokenGone, InvalidInput (a colleague invite, or not a vendor user).
    """
    invite = open_invite(session, token, now=now)
    if invite.retailer_id is None:
        raise InvalidInput("this invite creates a new user; you already have one")
    user = session.get(User, user_id)
    if user is None or user.organization.kind != VENDOR:
        raise InvalidInput("only a vendor user can accept a retailer's invite")
    _claim(session, invite, user_id=user.id, now=now)
    return _connect(session, invite, vendor_id=user.org_id, now=now)


def open_colleague_invite(session: Session, token: str, *, kind: str, now: dt.datetime) -> Invite:
    """Return the colleague invite to a team of `kind` (the portal's vendors, the console's
    retailers) a link stands for. Raises TokenNotFound (also an invite of the other kind), TokenGone."""
    invite = open_invite(session, token, now=now)
    if invite.team_id is None or invite.team.kind != kind:
        where = "the console" if kind == VENDOR else "the vendor portal"
        raise TokenNotFound(f"This link is not one for this page. Open it as it came in the email ({where}).")
    return invite


def accept_as_colleague(
    session: Session,
    token: str,
    *,
    name: str,
    email: str,
    password: str,
    now: dt.datetime,
    kind: str = VENDOR,
) -> User:
    """Accept a colleague invite by creating a user of the inviting team (of `kind`), whose role is
    roles.INVITED_ROLE.

    Raises TokenNotFound, TokenGone, InvalidInput.
    """
    invite = open_invite(session, token, now=now)
    if invite.team_id is None:
        raise InvalidInput("this invite is from a retailer; sign up your organization instead")
    invite = open_colleague_invite(session, token, kind=kind, now=now)
    user = register_user(
        session,
        org_id=invite.team_id,
        email=_check_email(email),
        password=password,
        name=name,
        role=roles.INVITED_ROLE,
        now=now,
    )
    _claim(session, invite, user_id=user.id, now=now)
    return user


def invite_email(invite: Invite, token: str, *, public_url: str, inviter: str | None = None) -> Email:
    """Compose the email that carries an invite's link."""
    team_kind = invite.team.kind if invite.team_id is not None else None
    link = public_url.rstrip("/") + COLLEAGUE_PATHS.get(team_kind, INVITE_PATH) + token
    org = inviter_name(invite)
    if invite.retailer_id is not None:
        subject = f"{org} invites {invite.vendor_name} to sell through Dropnet"
    else:
        subject = f"{inviter or 'A colleague'} invites you to {org} on Dropnet"
    return render_email(
        "invite",
        to=invite.email,
        subject=subject,
        link=link,
        organization=org,
        inviter=inviter,
        vendor_name=invite.vendor_name,
        colleague=invite.retailer_id is None,
        console=team_kind == RETAILER,
        expires_at=invite.expires_at,
        terms=connection_terms(invite.terms),
    )


TERM_LABELS = {
    "ack_sla_hours": ("Acknowledge purchase orders within", "hours"),
    "ship_sla_hours": ("Ship within", "hours"),
    "safety_buffer": ("Units held back per item", "units"),
    "stale_after_minutes": ("Stock counts for", "minutes after your last update"),
    "routing_priority": ("Routing priority", ""),
}


def connection_terms(terms: dict) -> list[tuple[str, str]]:
    """Describe connection terms for people: (label, value), defaults filled in."""
    defaults = {name: Connection.__table__.c[name].default.arg for name in TERM_LABELS}
    values = {**defaults, **{k: v for k, v in terms.items() if k in TERM_LABELS}}
    return [(label, f"{values[name]} {unit}".strip()) for name, (label, unit) in TERM_LABELS.items()]
