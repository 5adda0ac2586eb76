"""Stock positions (one per vendor variant), the vendor's last full snapshot, and the ledger."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network import partitions
from network.db import Base

AVAILABLE = "available"
ON_HAND = "on_hand"
BASES = (AVAILABLE, ON_HAND)


class StockPosition(Base):
    __tablename__ = "stock_positions"

    variant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("vendor_variants.id", ondelete="CASCADE"), primary_key=True
    )
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(default=0)
    basis: Mapped[str] = mapped_column(sa.String(16), default=AVAILABLE)
    damaged: Mapped[int] = mapped_column(default=0)
    pending_inspection: Mapped[int] = mapped_column(default=0)
    incoming: Mapped[int] = mapped_column(default=0)
    incoming_eta: Mapped[dt.date | None]
    # When this row's figures were last reported; the vendor's last full snapshot may be newer
    # (see effective_as_of), which is how an unchanged row stays fresh without being rewritten.
    as_of: Mapped[dt.datetime | None]
    committed: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        sa.CheckConstraint("quantity >= 0", name="quantity"),
        sa.CheckConstraint("committed >= 0", name="committed"),
        sa.CheckConstraint("damaged >= 0 AND pending_inspection >= 0 AND incoming >= 0", name="counts"),
        sa.CheckConstraint("basis IN ('available', 'on_hand')", name="basis"),
    )


class StockSnapshot(Base):
    """The vendor's last applied full feed: every position it covered is true as of `as_of`."""

    __tablename__ = "stock_snapshots"

    vendor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[dt.datetime]
    feed_run_id: Mapped[int | None]
    applied_at: Mapped[dt.datetime]


class StockLedgerEntry(Base):
    """Append-only: what changed on a position, before and after, why, and who caused it."""

    __tablename__ = "stock_ledger"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    variant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("vendor_variants.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(sa.String(32))
    # field -> [before, after]
    changes: Mapped[dict] = mapped_column(sa.JSON)
    feed_run_id: Mapped[int | None]
    po_line_id: Mapped[int | None]
    user_id: Mapped[int | None]
    # What else caused it, by id ({"hold_id": 4}, {"connection_id": 9}), for causes with no column.
    ref: Mapped[dict | None] = mapped_column(sa.JSON)
    # Set on entries that concern one retailer only (its connection went stale, its buffer changed):
    # other retailers never see them.
    retailer_id: Mapped[int | None]

    # Monthly partitions on PostgreSQL, dropped whole after HUB_LEDGER_RETENTION_DAYS.
    __table_args__ = (partitions.by_time("at"),)
