"""An organization's team, on both sides (the portal's vendors, the console's retailers): colleague
invites, roles, removals — each written to the audit log.

One rule for both: an organization always keeps an owner. The last owner can be neither removed
nor given another role; concurrent changes take turns on the owners' rows (PostgreSQL), so two
admins demoting the last two owners at once cannot leave none.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.errors import Conflict, InvalidInput, NotFound
from network.partners import audit, invites, roles
from network.partners.models import OWNER, ROLES, Invite, User


def invite_colleague(
    session: Session,
    *,
    org_id: int,
    email: str,
    actor: audit.Actor,
    ttl: dt.timedelta = invites.DEFAULT_TTL,
    now: dt.datetime,
) -> tuple[Invite, str]:
    """Invite a colleague (who joins as roles.INVITED_ROLE); return the invite and its token.

    Raises InvalidInput (not an email, the email has an account), NotFound (the organization).
    """
    invite, token = invites.create_invite(
        session, team_id=org_id, email=email, invited_by_user_id=actor.user_id, ttl=ttl, now=now
    )
    audit.record(
        session,
        org_id=org_id,
        actor=actor,
        action="user.invited",
        subject=f"user {invite.email}",
        before=None,
        after={
            "email": invite.email,
            "role": roles.INVITED_ROLE,
            "expires_at": invite.expires_at.isoformat(timespec="seconds"),
        },
        now=now,
    )
    return invite, token


def withdraw_invite(
    session: Session, invite_id: int, *, org_id: int, actor: audit.Actor, now: dt.datetime
) -> Invite:
    """Make a colleague invite's link useless (audited once; withdrawing twice changes nothing).

    Raises NotFound (another team's invite, or a vendor invite), Conflict (accepted).
    """
    was = invites.invite_status(invites.get_invite(session, invite_id, org_id=org_id, colleague=True), now)
    invite = invites.revoke_invite(session, invite_id, org_id=org_id, now=now, colleague=True)
    if was != invites.REVOKED:
        audit.record(
            session,
            org_id=org_id,
            actor=actor,
            action="user_invite.revoked",
            subject=f"user {invite.email}",
            before={"status": was},
            after={"status": invites.REVOKED},
            now=now,
        )
    return invite


def pending_invites(
    session: Session, *, org_id: int, now: dt.datetime, after_id: int = 0, limit: int = 50
) -> list[Invite]:
    """The team's colleague invites that can still be accepted, oldest first (keyset by id)."""
    return invites.list_invites(
        session, org_id=org_id, after_id=after_id, limit=limit, pending_at=now, colleagues=True
    )


def members(session: Session, *, org_id: int, after_id: int = 0, limit: int = 50) -> list[User]:
    """The organization's users, oldest first (keyset by id: one query per page)."""
    return list(
        session.scalars(
            sa.select(User).where(User.org_id == org_id, User.id > after_id).order_by(User.id).limit(limit)
        )
    )


def get_member(session: Session, user_id: int, *, org_id: int) -> User:
    """Raises NotFound, also for another organization's user."""
    user = session.scalar(sa.select(User).where(User.id == user_id, User.org_id == org_id))
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def _keep_an_owner(session: Session, user: User, *, doing: str) -> None:
    """Raises Conflict when `user` is the organization's last owner."""
    if user.role != OWNER:
        return
    owners = sa.select(User.id).where(User.org_id == user.org_id, User.role == OWNER).order_by(User.id)
    if is_postgres(session):
        owners = owners.with_for_update()  # the owners' rows, locked in one order: changes take turns
    if list(session.scalars(owners)) == [user.id]:
        raise Conflict(
            f"{user.email} is the last owner; make another user an owner before you {doing} them",
        )


def change_role(
    session: Session, user_id: int, *, org_id: int, role: str, actor: audit.Actor, now: dt.datetime
) -> User:
    """Give a user of the organization another role. Raises NotFound, InvalidInput (no such role),
    Conflict (the last owner)."""
    if role not in ROLES:
        raise InvalidInput("unknown role", errors={"role": [f"one of {', '.join(ROLES)}"]})
    user = get_member(session, user_id, org_id=org_id)
    if user.role == role:
        return user  # nothing changes, nothing is recorded
    if role != OWNER:
        _keep_an_owner(session, user, doing="demote")
    before = user.role
    user.role = role
    session.flush()
    audit.record(
        session,
        org_id=org_id,
        actor=actor,
        action="user.role_changed",
        subject=f"user {user.email}",
        before={"role": before},
        after={"role": role},
        now=now,
    )
    return user


def remove_member(
    session: Session, user_id: int, *, org_id: int, actor: audit.Actor, now: dt.datetime
) -> User:
    """Remove a user from the organization: the account goes, and every session of it with it.

    The audit log keeps its entries (naming the user by email). Raises NotFound, Conflict (the
    last owner).
    """
    user = get_member(session, user_id, org_id=org_id)
    _keep_an_owner(session, user, doing="remove")
    audit.record(
        session,
        org_id=org_id,
        actor=actor,
        action="user.removed",
        subject=f"user {user.email}",
        before={"email": user.email, "role": user.role},
        after=None,
        now=now,
    )
    session.delete(user)
    session.flush()
    return user
