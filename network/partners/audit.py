"""The organization's audit log: who changed what (terms, API clients), with the before and after.

Append-only: entries are only ever added (no update or delete here), so the log is a record a
retailer or vendor can trust when asking "who changed this term, and from what?".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.db import Base
from network.partners.models import ApiClient, User

_BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    # Exactly one of the two names the actor; `actor` keeps a readable label even once the user
    # or client is gone (the ids are then set to NULL, the entry stays).
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_client_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("api_clients.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(sa.String(300))
    action: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(200))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_audit_log_org_id_id", "org_id", "id"),)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a signed-in user, or an API client (by its primary key)."""

    user_id: int | None = None
    client_pk: int | None = None


def record(
    session: Session,
    *,
    org_id: int,
    actor: Actor,
    action: str,
    subject: str,
    before: dict | None,
    after: dict | None,
    now: dt.datetime,
) -> AuditEntry:
    entry = AuditEntry(
        org_id=org_id,
        at=now,
        actor_user_id=actor.user_id,
        actor_client_pk=actor.client_pk,
        actor=_label(session, actor),
        action=action,
        subject=subject,
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    return entry


def _label(session: Session, actor: Actor) -> str:
    if actor.user_id is not None:
        email = session.scalar(sa.select(User.email).where(User.id == actor.user_id))
        return f"user {email}"
    if actor.client_pk is not None:
        client_id = session.scalar(sa.select(ApiClient.client_id).where(ApiClient.id == actor.client_pk))
        return f"API client {client_id}"
    return "system"


def entries(session: Session, *, org_id: int, after_id: int = 0, limit: int = 50) -> list[AuditEntry]:
    """The organization's entries after a position, oldest first."""
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.org_id == org_id, AuditEntry.id > after_id)
            .order_by(AuditEntry.id)
            .limit(limit)
        )
    )


def latest(
    session: Session, *, org_id: int, before_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """The organization's entries before a position (the newest without one), newest first: the
    pages of the console and the portal."""
    query = sa.select(AuditEntry).where(AuditEntry.org_id == org_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


@dataclass(frozen=True, slots=True)
class LogPage:
    entries: list[AuditEntry]
    older: bool  # there are entries before the last one shown
    paged: bool  # this is not the first page


def log_page(session: Session, *, org_id: int, before_id: int | None, limit: int) -> LogPage:
    """One page of the log for the pages of the console and the portal, newest first, by keyset."""
    found = latest(session, org_id=org_id, before_id=before_id, limit=limit + 1)
    return LogPage(found[:limit], len(found) > limit, before_id is not None)
