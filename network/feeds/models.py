"""Feed configurations, feed runs (every receipt of vendor stock, what became of it, its raw bytes)
and the staleness marks that make `feed.stale` / `feed.recovered` fire once per transition."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network import partitions
from network.db import Base

APPLIED = "applied"
PARTIALLY_APPLIED = "partially_applied"
REJECTED = "rejected"
HELD = "held"
NOT_MODIFIED = "not_modified"
FAILED = "failed"
DISCARDED = "discarded"
# A large push or upload accepted and kept, waiting for the worker to apply it (network.feeds.queue).
QUEUED = "queued"
RUN_STATUSES = (APPLIED, PARTIALLY_APPLIED, REJECTED, HELD, NOT_MODIFIED, FAILED, DISCARDED, QUEUED)
GOOD_STATUSES = (APPLIED, PARTIALLY_APPLIED)

PULL = "pull"
UPLOAD = "upload"
PUSH = "push"
FEED_TRANSPORTS = (PULL, UPLOAD, PUSH)
AUTH_KINDS = ("none", "basic", "bearer", "header", "ssh_key")

# Why a run was held (FeedRun.hold_reason); the run's message says it in words.
HOLD_MASS_ZERO = "mass_zero"
HOLD_SHRUNK = "shrunk"
# Rows whose quantity jumped far beyond the variant's history (a misplaced period: 12 -> 1200),
# held apart in a run of their own while the rest of the file applies (network/feeds/jumps.py).
HOLD_QUANTITY_JUMP = "quantity_jump"


class Feed(Base):
    """How one vendor's stock arrives: transport, where and how to fetch it, how to read it, when."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    transport: Mapped[str] = mapped_column(sa.String(16))
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    auth_kind: Mapped[str] = mapped_column(sa.String(16), default="none")
    # Fernet token of the auth parameters (password, token, header value); never logged or returned.
    auth_sealed: Mapped[str | None] = mapped_column(sa.Text)
    interval_minutes: Mapped[int] = mapped_column(default=60)
    # What network.feeds.parsing.FeedFormat needs, column by column.
    format_kind: Mapped[str] = mapped_column(sa.String(8), default="csv")
    mapping: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    delimiter: Mapped[str | None] = mapped_column(sa.String(1))
    encoding: Mapped[str] = mapped_column(sa.String(32), default="utf-8")
    filter: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    sum_duplicates: Mapped[bool] = mapped_column(default=False)
    decimal_quantities: Mapped[str] = mapped_column(sa.String(8), default="reject")
    mode: Mapped[str] = mapped_column(sa.String(8), default="full")
    basis: Mapped[str] = mapped_column(sa.String(16), default="available")
    active: Mapped[bool] = mapped_column(default=True)
    # Pull schedule: due when next_run_at <= now; a worker that claims a feed moves it ahead (a lease).
    next_run_at: Mapped[dt.datetime | None]
    etag: Mapped[str | None] = mapped_column(sa.String(500))
    # An sftp:// feed's server key ("<type> <base64>"), pinned on the first pull (network/feeds/sftp.py).
    host_key: Mapped[str | None] = mapped_column(sa.Text)
    last_modified: Mapped[str | None] = mapped_column(sa.String(100))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_run_at: Mapped[dt.datetime | None]
    # Cadence: when the feed last brought a count, and its usual gap between counts.
    last_success_at: Mapped[dt.datetime | None]
    learned_interval_seconds: Mapped[int | None]
    late_notified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        sa.Index("ix_feeds_due", "transport", "active", "next_run_at"),
        sa.CheckConstraint("transport IN ('pull', 'upload', 'push')", name="transport"),
        sa.CheckConstraint("auth_kind IN ('none', 'basic', 'bearer', 'header', 'ssh_key')", name="auth_kind"),
        sa.CheckConstraint("interval_minutes > 0", name="interval"),
        sa.CheckConstraint("mode IN ('full', 'delta')", name="mode"),
        sa.CheckConstraint("basis IN ('available', 'on_hand')", name="basis"),
    )

    @property
    def has_credentials(self) -> bool:
        return self.auth_sealed is not None

    @property
    def format_settings(self) -> dict:
        """The format as FeedFormat's keyword arguments."""
        return {
            "kind": self.format_kind,
            "mapping": self.mapping,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "filter": self.filter,
            "sum_duplicates": self.sum_duplicates,
            "decimal_quantities": self.decimal_quantities,
        }

    @property
    def learned_interval_minutes(self) -> int | None:
        seconds = self.learned_interval_seconds
        return None if seconds is None else max(1, round(seconds / 60))


class FeedRun(Base):
    __tablename__ = "feed_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    feed_id: Mapped[int | None] = mapped_column(index=True)
    transport: Mapped[str] = mapped_column(sa.String(16))
    format: Mapped[str] = mapped_column(sa.String(16), default="csv")
    # NULL only while a queued JSON push waits: its mode and basis are inside the body, which the
    # web request does not read (that is the point of queueing it).
    mode: Mapped[str | None] = mapped_column(sa.String(16))
    basis: Mapped[str | None] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(24))
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    as_of: Mapped[dt.datetime | None]
    rows_seen: Mapped[int] = mapped_column(default=0)
    rows_applied: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    rows_changed: Mapped[int] = mapped_column(default=0)
    # [{line, sku, reason}] for rejected rows
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Why the whole run was rejected, held or failed.
    message: Mapped[str | None] = mapped_column(sa.Text)
    # Held runs: the guard that held it (HOLD_*), the format to re-read the raw bytes with, and
    # when the vendor applied or discarded it.
    hold_reason: Mapped[str | None] = mapped_column(sa.String(32))
    format_settings: Mapped[dict | None] = mapped_column(sa.JSON)
    resolved_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    duration_ms: Mapped[int | None]

    __table_args__ = (
        sa.Index("ix_feed_runs_vendor_id_id", "vendor_id", "id"),
        # The worker's queue: the few waiting runs, found without scanning the history.
        sa.Index(
            "ix_feed_runs_queued",
            "vendor_id",
            "id",
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        ),
        # Monthly partitions on PostgreSQL, dropped whole after HUB_FEED_RUN_RETENTION_DAYS unless
        # a run in them is held, queued or the vendor's current snapshot.
        partitions.by_time("received_at"),
    )


class FeedRunPayload(Base):
    """The raw bytes of a run, gzipped, kept apart so that listing runs never loads them."""

    __tablename__ = "feed_run_payloads"

    # No foreign key: feed runs are partitioned, and PostgreSQL refers to a partitioned table only by
    # its whole primary key (id, received_at). Dropping a month of runs deletes their files first.
    run_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    gzipped: Mapped[bytes] = mapped_column(sa.LargeBinary)


class StaleSource(Base):
    """A connection through which the vendor's stock is stale; the row exists while it stays so."""

    __tablename__ = "stale_sources"

    connection_id: Mapped[int] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    # The vendor's last count when the source went stale, and when the hub noticed.
    last_count_at: Mapped[dt.datetime]
    since: Mapped[dt.datetime]
