"""The console's home: what needs a retailer's decision now, exceptions first.

Every list is bounded (HOME_LIMIT rows, and whether there are more): the home page costs the
same few queries whatever the retailer's size; the full lists belong to their own pages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.feeds.models import HELD, Feed, FeedRun, StaleSource
from network.flags import holds
from network.flags.models import Flag
from network.orders.models import Order
from network.outbox.models import DEAD, Delivery, WebhookEndpoint
from network.partners.models import Connection, Organization

HOME_LIMIT = 25


@dataclass(frozen=True)
class OpenFlag:
    id: int
    kind: str
    order_id: int
    order_reference: str
    vendor: str | None  # None: an `unfillable` line, whose missing units have no vendor yet
    raised_at: dt.datetime
    open_for: dt.timedelta  # the lead time the retailer still has had since the flag was raised


@dataclass(frozen=True)
class QuietVendor:
    vendor_id: int
    connection_id: int  # where the retailer sees the vendor's terms and scorecard
    vendor: str
    state: str  # "stale": its stock counts as zero for us; "late": its feed missed its usual cadence
    since: dt.datetime | None


@dataclass(frozen=True)
class HeldRun:
    id: int
    vendor: str
    hold_reason: str | None
    message: str | None
    received_at: dt.datetime


@dataclass(frozen=True)
class DeadDelivery:
    id: int
    endpoint_url: str
    type: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime


@dataclass
class Bounded:
    rows: list = field(default_factory=list)
    more: bool = False


@dataclass(frozen=True)
class Home:
    flags: Bounded
    quiet_vendors: Bounded
    holds: Bounded
    held_runs: Bounded
    dead_deliveries: Bounded


def _bounded(rows: list, limit: int) -> Bounded:
    return Bounded(rows[:limit], len(rows) > limit)


def console_home(session: Session, *, retailer_id: int, now: dt.datetime, limit: int = HOME_LIMIT) -> Home:
    return Home(
        flags=_bounded(open_flags(session, retailer_id=retailer_id, now=now, limit=limit + 1), limit),
        quiet_vendors=_bounded(quiet_vendors(session, retailer_id=retailer_id, limit=limit + 1), limit),
        holds=_bounded(
            holds.list_for_retailer(
                session, retailer_id=retailer_id, status=holds.ACTIVE, after_id=0, limit=limit + 1, now=now
            ),
            limit,
        ),
        held_runs=_bounded(held_runs(session, retailer_id=retailer_id, limit=limit + 1), limit),
        dead_deliveries=_bounded(dead_deliveries(session, retailer_id=retailer_id, limit=limit + 1), limit),
    )


def open_flags(session: Session, *, retailer_id: int, now: dt.datetime, limit: int) -> list[OpenFlag]:
    """The retailer's unresolved flags, oldest first (the one closest to costing a customer on top)."""
    rows = session.execute(
        sa.select(Flag.id, Flag.kind, Flag.order_id, Order.reference, Organization.name, Flag.raised_at)
        .join(Order, Order.id == Flag.order_id)
        .outerjoin(Organization, Organization.id == Flag.vendor_id)
        .where(Flag.retailer_id == retailer_id, Flag.resolved_at.is_(None))
        .order_by(Flag.raised_at, Flag.id)
        .limit(limit)
    )
    return [
        OpenFlag(id, kind, order_id, reference, vendor, raised_at, now - raised_at)
        for id, kind, order_id, reference, vendor, raised_at in rows
    ]


def quiet_vendors(session: Session, *, retailer_id: int, limit: int) -> list[QuietVendor]:
    """Connected vendors whose stock went stale for the retailer, then those whose feed is late."""
    stale = session.execute(
        sa.select(StaleSource.vendor_id, StaleSource.connection_id, Organization.name, StaleSource.since)
        .join(Organization, Organization.id == StaleSource.vendor_id)
        .where(StaleSource.retailer_id == retailer_id)
        .order_by(StaleSource.since, StaleSource.vendor_id)
        .limit(limit)
    ).all()
    found = [QuietVendor(*row[:3], "stale", row[3]) for row in stale]
    stale_ids = {row.vendor_id for row in found}
    late = session.execute(
        sa.select(Feed.vendor_id, Connection.id, Organization.name, sa.func.min(Feed.last_success_at))
        .join(Organization, Organization.id == Feed.vendor_id)
        .join(Connection, Connection.vendor_id == Feed.vendor_id)
        .where(
            Connection.retailer_id == retailer_id,
            Connection.status == "active",
            Feed.active.is_(True),
            Feed.late_notified.is_(True),
        )
        .group_by(Feed.vendor_id, Connection.id, Organization.name)
        .order_by(Feed.vendor_id)
        .limit(limit)
    ).all()
    found += [
        QuietVendor(v, conn, name, "late", since) for v, conn, name, since in late if v not in stale_ids
    ]
    return found[:limit]


def held_runs(session: Session, *, retailer_id: int, limit: int) -> list[HeldRun]:
    """Connected vendors' files a guard held, oldest first: until the vendor applies or discards one,
    the retailer sells from that vendor's previous count."""
    rows = session.execute(
        sa.select(FeedRun.id, Organization.name, FeedRun.hold_reason, FeedRun.message, FeedRun.received_at)
        .join(Organization, Organization.id == FeedRun.vendor_id)
        .join(Connection, Connection.vendor_id == FeedRun.vendor_id)
        .where(Connection.retailer_id == retailer_id, Connection.status == "active", FeedRun.status == HELD)
        .order_by(FeedRun.received_at, FeedRun.id)
        .limit(limit)
    )
    return [HeldRun(*row) for row in rows]


def dead_deliveries(session: Session, *, retailer_id: int, limit: int) -> list[DeadDelivery]:
    """Webhook deliveries to the retailer's endpoints that gave up, newest first (replay them)."""
    rows = session.execute(
        sa.select(
            Delivery.id,
            WebhookEndpoint.url,
            Delivery.type,
            Delivery.attempts,
            Delivery.last_error,
            Delivery.created_at,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
        .where(WebhookEndpoint.org_id == retailer_id, Delivery.status == DEAD)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [DeadDelivery(*row) for row in rows]
