"""Feed runs: every receipt of vendor stock, what became of it, and its raw bytes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network.db import Base

APPLIED = "applied"
PARTIALLY_APPLIED = "partially_applied"
REJECTED = "rejected"
HELD = "held"
NOT_MODIFIED = "not_modified"
FAILED = "failed"
DISCARDED = "discarded"
RUN_STATUSES = (APPLIED, PARTIALLY_APPLIED, REJECTED, HELD, NOT_MODIFIED, FAILED, DISCARDED)


class FeedRun(Base):
    __tablename__ = "feed_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    feed_id: Mapped[int | None] = mapped_column(index=True)
    transport: Mapped[str] = mapped_column(sa.String(16))
    format: Mapped[str] = mapped_column(sa.String(16), default="csv")
    mode: Mapped[str] = mapped_column(sa.String(16))
    basis: Mapped[str] = mapped_column(sa.String(16))
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
    received_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    duration_ms: Mapped[int | None]

    __table_args__ = (sa.Index("ix_feed_runs_vendor_id_id", "vendor_id", "id"),)


class FeedRunPayload(Base):
    """The raw bytes of a run, gzipped, kept apart so that listing runs never loads them."""

    __tablename__ = "feed_run_payloads"

    run_id: Mapped[int] = mapped_column(sa.ForeignKey("feed_runs.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    gzipped: Mapped[bytes] = mapped_column(sa.LargeBinary)
