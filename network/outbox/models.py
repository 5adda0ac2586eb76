"""The outbox: every event is written in the transaction that makes the change it reports."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network import partitions
from network.db import Base


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    # The organization the event is for (a retailer, or a vendor for vendor-facing events).
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(sa.String(64))
    # What the event is about (an item's sku, an order id): deliveries for one key stay in order.
    key: Mapped[str] = mapped_column(sa.String(200), default="")
    data: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime]
    # PostgreSQL transaction id of the writer: readers only pass events whose writers have all
    # finished, so a cursor never skips an event committed late with a lower id.
    txid: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Commit order: given under a lock just before the writing transaction commits (see
    # network/outbox/services.py sequence_events), so a cursor on it never skips an event.
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.Index("ix_events_org_type_id", "org_id", "type", "id"),
        sa.Index("ix_events_org_seq", "org_id", "seq"),
        # Unique with the partition key, as PostgreSQL requires of a partitioned table: `seq` is
        # given under a lock (max + 1), so it is unique anyway; this catches a broken numbering.
        sa.Index("uq_events_seq", "seq", "created_at", unique=True),
        sa.Index(
            "ix_events_unsequenced",
            "id",
            postgresql_where=sa.text("seq IS NULL"),
            sqlite_where=sa.text("seq IS NULL"),
        ),
        # The webhook fan-out reads events in (txid, id) order: see network/outbox/fanout.py.
        sa.Index("ix_events_txid_id", "txid", "id"),
        # Monthly partitions on PostgreSQL, dropped whole after HUB_EVENT_RETENTION_DAYS once
        # every reader of the outbox has passed them (network/history/retention.py).
        partitions.by_time("created_at"),
    )


class OutboxSequence(Base):
    """The last commit-order number handed out (`Event.seq`), in one row (PostgreSQL's writers).

    A writer numbers its events by updating this row right before it commits: the row lock
    orders the writers as their commits become visible, and the update reads the newest figure
    whoever committed meanwhile, so numbering is one statement (network/outbox/services.py).
    """

    __tablename__ = "outbox_sequence"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)


# --- webhooks (DESIGN §8) ---------------------------------------------------------------------

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
DELIVERY_STATUSES = (PENDING, DELIVERED, DEAD)


class WebhookEndpoint(Base):
    """Where an organization wants its events pushed: one per sales channel if it wishes."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    # Event types (exact, "area.*" or "*") this endpoint hears.
    events: Mapped[list] = mapped_column(sa.JSON)
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    # The signing secret must be readable to sign with, so it cannot be hashed: it is kept
    # encrypted with a key derived from SECRET_KEY (Fernet), and shown to the owner only once.
    secret_sealed: Mapped[str] = mapped_column(sa.String(500))
    # After a rotation the previous secret also signs, until it expires (the grace period).
    previous_secret_sealed: Mapped[str | None] = mapped_column(sa.String(500))
    previous_secret_expires_at: Mapped[dt.datetime | None]
    # Channel throttle: at most one availability push per interval, coalesced (0 = unthrottled).
    min_interval_seconds: Mapped[int] = mapped_column(default=0)
    # Per-channel figure sent out: max(0, min(available - buffer, max_quantity)). None: automatic
    # (network/outbox/rules.py channel_figure): 0 on the fixed availability model; on the predictive
    # one, what outside sales will probably take over the channel's throttle interval.
    buffer: Mapped[int | None]
    max_quantity: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # When the last coalesced availability push was attempted (the throttle counts attempts).
    last_push_at: Mapped[dt.datetime | None]
    # One delivery in flight per endpoint: a dispatcher holds the endpoint's lease while it sends.
    lease_until: Mapped[dt.datetime | None]
    lease_token: Mapped[str | None] = mapped_column(sa.String(32))

    __table_args__ = (
        sa.CheckConstraint("min_interval_seconds >= 0", name="min_interval"),
        sa.CheckConstraint("buffer IS NULL OR buffer >= 0", name="buffer"),
        sa.CheckConstraint("max_quantity IS NULL OR max_quantity >= 0", name="max_quantity"),
    )


class Delivery(Base):
    """One event owed to one endpoint; its id is the stable `Dropnet-Delivery` of every attempt."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # NULL for a coalesced availability push, whose figures are read when it is sent. No foreign
    # key: events are partitioned, and PostgreSQL refers to a partitioned table only by its whole
    # primary key (id, created_at). An event's deliveries go with its endpoint (deleted with the
    # organization, as its events are) and retention keeps an event while a delivery names it.
    event_id: Mapped[int | None] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    type: Mapped[str] = mapped_column(sa.String(64))
    # Deliveries of one key (an item, an order) to one endpoint go out in order.
    key: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    # Failed attempts are retried until then, after which the delivery is dead (a replay restarts it).
    retry_until: Mapped[dt.datetime]
    claimed_until: Mapped[dt.datetime | None]
    last_attempt_at: Mapped[dt.datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[dt.datetime | None]
    # An event's deliveries take the event's own created_at (a coalesced push its creation time):
    # the unique key below must contain the partition key, and this keeps it one row per (event,
    # endpoint) however often the fan-out meets the event; it also keeps an event's deliveries in
    # the month partition of the event.
    created_at: Mapped[dt.datetime]

    __table_args__ = (
        sa.UniqueConstraint("event_id", "endpoint_id", "created_at"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
        sa.Index("ix_webhook_deliveries_endpoint_status_id", "endpoint_id", "status", "id"),
        sa.Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        # Monthly partitions on PostgreSQL, dropped whole after HUB_WEBHOOK_RETENTION_DAYS unless
        # a delivery in them is still pending.
        partitions.by_time("created_at"),
    )


class PendingItem(Base):
    """An item whose availability changed since a throttled endpoint's last coalesced push."""

    __tablename__ = "webhook_pending_items"

    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    retailer_sku: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    # The latest change seen: a push clears the row only if no newer change arrived meanwhile.
    last_event_id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))


class OutboxCursor(Base):
    """How far a reader of the outbox (the webhook fan-out) has come: (txid, id) of the last event."""

    __tablename__ = "outbox_cursors"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_txid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_event_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[dt.datetime]
