"""Vendor notices by email: new purchase order, acknowledgement overdue, feed held, feed stale, variant held.

The outbox events addressed to a vendor are what the webhook dispatcher delivers to the vendor's
endpoints; the same events become emails to the vendor's users. A sender claims notices (one
row per event, so two senders never claim the same one), commits, sends with no transaction
open, then marks them sent; a sender that dies leaves its claims to expire and they are sent
again (at least once).

A cursor keeps the scan short: every event at or below it is done with. On PostgreSQL it moves
only up to the oldest transaction still running (an event may commit late with a lower id), but
notices above it are sent at once: the claims, not the cursor, say what was sent.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.flags.models import NoticeClaim, NoticeCursor
from network.mail import Email, render_email
from network.outbox.events import (
    FeedHeld,
    FeedStale,
    PurchaseOrderAckOverdue,
    PurchaseOrderCreated,
    VariantHoldPlaced,
)
from network.outbox.models import Event
from network.partners.models import VENDOR, Organization, User

CURSOR = "vendor_notices"
BATCH = 500
CLAIM = dt.timedelta(minutes=5)
NOTICE_TYPES = (
    PurchaseOrderCreated.wire_name,
    PurchaseOrderAckOverdue.wire_name,
    FeedHeld.wire_name,
    FeedStale.wire_name,
    VariantHoldPlaced.wire_name,
)
_END = 2**63 - 1


@dataclass(frozen=True)
class NoticeBatch:
    token: str
    event_ids: list[int]
    emails: list[Email]


def _insert(session: Session, model: type) -> sa.Insert:
    return (postgresql.insert if is_postgres(session) else sqlite.insert)(model)


def _cursor(session: Session, now: dt.datetime) -> NoticeCursor:
    query = sa.select(NoticeCursor).where(NoticeCursor.name == CURSOR).with_for_update()
    cursor = session.scalar(query)
    if cursor is None:
        session.execute(
            _insert(session, NoticeCursor)
            .values(name=CURSOR, last_txid=0, last_event_id=0, updated_at=now)
            .on_conflict_do_nothing()
        )
        cursor = session.scalar(query)
    return cursor


def claim_notices(
    session: Session, *, now: dt.datetime, public_url: str, limit: int = BATCH
) -> NoticeBatch | None:
    """Claim the next vendor notices and compose their emails; None if none is due."""
    cursor = _cursor(session, now)
    # Read the horizon before the events: every transaction below it had ended by then, so the
    # read below sees all of their events and the cursor may pass them.
    horizon = (
        session.scalar(sa.select(sa.func.txid_snapshot_xmin(sa.func.txid_current_snapshot())))
        if is_postgres(session)
        else None
    )
    done = sa.exists().where(
        NoticeClaim.event_id == Event.id,
        sa.or_(NoticeClaim.sent_at.is_not(None), NoticeClaim.claimed_until > now),
    )
    query = sa.select(Event.id, Event.txid).where(Event.type.in_(NOTICE_TYPES), ~done)
    if is_postgres(session):
        position = sa.tuple_(sa.literal(cursor.last_txid), sa.literal(cursor.last_event_id))
        query = query.where(sa.tuple_(Event.txid, Event.id) > position).order_by(Event.txid, Event.id)
    else:
        query = query.where(Event.id > cursor.last_event_id).order_by(Event.id)
    due = session.execute(query.limit(limit)).all()
    batch = _claim(session, due, now=now, public_url=public_url) if due else None
    if len(due) < limit:
        _advance(session, cursor, horizon, now=now)
    return batch


def _claim(
    session: Session, due: Sequence[sa.Row], *, now: dt.datetime, public_url: str
) -> NoticeBatch | None:
    token = secrets.token_hex(8)
    table = NoticeClaim.__table__
    insert = _insert(session, NoticeClaim).values(
        [
            {
                "event_id": row.id,
                "txid": row.txid,
                "token": token,
                "claimed_until": now + CLAIM,
                "sent_at": None,
            }
            for row in due
        ]
    )
    claimed = session.scalars(
        insert.on_conflict_do_update(
            index_elements=["event_id"],
            set_={"token": token, "claimed_until": now + CLAIM},
            # Take over only a claim whose sender is gone; a sent or live claim stays where it is.
            where=sa.and_(table.c.sent_at.is_(None), table.c.claimed_until <= now),
        ).returning(table.c.event_id)
    ).all()
    if not claimed:
        return None
    return NoticeBatch(token, sorted(claimed), _compose(session, claimed, public_url=public_url))


def _advance(session: Session, cursor: NoticeCursor, horizon: int | None, *, now: dt.datetime) -> None:
    """Move the cursor past what is done: up to the horizon (PostgreSQL) or the last event (SQLite)."""
    if session.scalar(sa.select(sa.exists().where(NoticeClaim.sent_at.is_(None)))):
        return  # a claim still out: its event must stay ahead of the cursor
    if horizon is not None:
        cursor.last_txid, cursor.last_event_id = horizon - 1, _END
        session.execute(sa.delete(NoticeClaim).where(NoticeClaim.txid < horizon))
    else:
        last = session.scalar(sa.select(sa.func.max(Event.id))) or 0
        cursor.last_event_id = last
        session.execute(sa.delete(NoticeClaim).where(NoticeClaim.event_id <= last))
    cursor.updated_at = now


def finish_notices(session: Session, batch: NoticeBatch, *, sent: bool, now: dt.datetime) -> None:
    """Mark a batch sent, or give its claims back at once for the next sender."""
    table = NoticeClaim.__table__
    values = {"sent_at": now} if sent else {"claimed_until": now}
    session.execute(
        table.update()
        .where(table.c.event_id.in_(batch.event_ids), table.c.token == batch.token, table.c.sent_at.is_(None))
        .values(values)
    )


def _compose(session: Session, event_ids: Sequence[int], *, public_url: str) -> list[Email]:
    rows = session.execute(
        sa.select(Event, Organization.name)
        .join(Organization, Organization.id == Event.org_id)
        .where(Event.id.in_(event_ids), Organization.kind == VENDOR)
        .order_by(Event.id)
    ).all()
    recipients = _recipients(session, {event.org_id for event, _ in rows})
    emails = []
    seen: set[tuple] = set()
    for event, vendor_name in rows:
        notice = _notice(event, public_url.rstrip("/"))
        # feed.stale comes once per retailer connection: one email per vendor says it.
        once = (event.org_id, event.type, notice.dedupe)
        if notice.dedupe and once in seen:
            continue
        seen.add(once)
        for address in recipients.get(event.org_id, ()):
            emails.append(
                render_email(
                    "vendor_notice",
                    to=address,
                    subject=notice.subject,
                    vendor_name=vendor_name,
                    headline=notice.headline,
                    lines=notice.lines,
                    link=notice.link,
                )
            )
    return emails


def _recipients(session: Session, org_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if org_ids:
        for org_id, address in session.execute(
            sa.select(User.org_id, User.email).where(User.org_id.in_(sorted(org_ids))).order_by(User.id)
        ):
            found[org_id].append(address)
    return found


@dataclass(frozen=True)
class _Notice:
    subject: str
    headline: str
    lines: list[str]
    link: str
    dedupe: str = ""


def _notice(event: Event, base: str) -> _Notice:
    data = event.data
    if event.type == PurchaseOrderCreated.wire_name:
        po = data["purchase_order_id"]
        units = sum(int(line.get("quantity", 0)) for line in data.get("lines", []))
        return _Notice(
            f"New purchase order {po}",
            f"Purchase order {po} is waiting for you: {units} unit{'s' * (units != 1)} to acknowledge and ship.",
            [f"{len(data.get('lines', []))} line(s), order {data['order_id']}."],
            f"{base}/portal/purchase-orders/{po}",
        )
    if event.type == PurchaseOrderAckOverdue.wire_name:
        po = data["purchase_order_id"]
        return _Notice(
            f"Purchase order {po} is overdue for acknowledgement",
            f"Purchase order {po} was due to be acknowledged by {data['due_at']} (UTC).",
            ["The retailer has been told the order is at risk; acknowledge or reject it now."],
            f"{base}/portal/purchase-orders/{po}",
        )
    if event.type == FeedHeld.wire_name:
        run = data["feed_run_id"]
        return _Notice(
            "A stock feed was held for your confirmation",
            f"Feed run {run} was held: {data['message']}",
            ["Nothing was applied. Confirm it if the file is right, or discard it."],
            f"{base}/portal/feed-runs/{run}",
        )
    if event.type == FeedStale.wire_name:
        return _Notice(
            "Your stock is no longer shown to retailers",
            f"Your last stock count is from {data['last_count_at']} (UTC): too old for your retailers to sell from.",
            ["Until a new count arrives your stock counts as zero. Send a feed or upload a file."],
            f"{base}/portal/stock",
            dedupe=str(data["last_count_at"]),
        )
    return _Notice(
        f"Variant {data['vendor_sku']} is held at zero",
        f"You refused units of {data['vendor_sku']} for lack of stock while your last count showed "
        f"{data['quantity_on_record']}: retailers see it as unavailable until {data['until']} (UTC).",
        ["A new count of this variant lifts the hold, or lift it yourself once your stock is right."],
        f"{base}/portal/stock",
    )
