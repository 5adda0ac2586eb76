"""Flags on at-risk order lines and the vendor-notice cursor (holds on oversold variants are
`network.availability.models.VariantHold`: availability reads them, flags place and lift them)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network.db import Base

SHORTFALL = "shortfall"
ACK_OVERDUE = "ack_overdue"
SHIP_OVERDUE = "ship_overdue"
STALE_FEED = "stale_feed"
VENDOR_REJECTED = "vendor_rejected"
VENDOR_CANCELLED = "vendor_cancelled"
# The vendor discontinued the product while the line was open: it may still ship what it has.
DISCONTINUED = "discontinued"
# EDI trading (network/edi): an invoice line that differs from what was ordered or shipped, and
# an 850 the vendor's translator never acknowledged with a 997 within the partner's window.
INVOICE_MISMATCH = "invoice_mismatch"
EDI_UNACKNOWLEDGED = "edi_unacknowledged"
# An order line the hub accepted short (a store order the customer has paid, or a partial
# POST /api/v1/orders): the missing units have no source yet, so no purchase-order line or
# vendor either. The only kind hung on the order line alone.
UNFILLABLE = "unfillable"
# Predictive availability (issue 18): an open line whose vendor has probably sold its units
# already (outside sales since the count probably exceed the units beyond the hub's), raised with
# that probability before the vendor says so (network/flags/likely_short.py).
LIKELY_SHORT = "likely_short"
KINDS = (
    SHORTFALL,
    ACK_OVERDUE,
    SHIP_OVERDUE,
    STALE_FEED,
    VENDOR_REJECTED,
    VENDOR_CANCELLED,
    DISCONTINUED,
    INVOICE_MISMATCH,
    EDI_UNACKNOWLEDGED,
    UNFILLABLE,
    LIKELY_SHORT,
)
# Kinds that record a vendor's refusal: each one is a cancellation the stats count.
REFUSALS = (VENDOR_REJECTED, VENDOR_CANCELLED)

_BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class Flag(Base):
    """A purchase-order line whose fulfilment became doubtful, from when it was raised to when it cleared
    (an `unfillable` flag: the order line's units the hub found no source for)."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    # None on an `unfillable` flag only (the check below): its units have no vendor yet.
    vendor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id", ondelete="CASCADE"))
    po_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("purchase_order_lines.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(sa.String(24))
    raised_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]
    # Why it cleared: acknowledged, shipped, stock_restored, feed_fresh, rerouted, cancelled, ...
    resolution: Mapped[str | None] = mapped_column(sa.String(32))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # When the vendor later cancelled or rejected the line while this flag was open, and how long
    # before that the flag came (on a refusal flag: since the earliest flag open at that moment).
    cancelled_at: Mapped[dt.datetime | None]
    lead_time_seconds: Mapped[int | None]

    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('shortfall', 'ack_overdue', 'ship_overdue', 'stale_feed', 'vendor_rejected',"
            " 'vendor_cancelled', 'discontinued', 'invoice_mismatch', 'edi_unacknowledged', 'unfillable',"
            " 'likely_short')",
            name="kind",
        ),
        sa.CheckConstraint(
            "kind = 'unfillable' OR (po_line_id IS NOT NULL AND vendor_id IS NOT NULL)", name="po_line"
        ),
        sa.Index("ix_flags_retailer_id_id", "retailer_id", "id"),
        sa.Index("ix_flags_po_line_id_kind", "po_line_id", "kind"),
        sa.Index("ix_flags_vendor_id_resolved_at", "vendor_id", "resolved_at"),
        sa.Index("ix_flags_order_line_id_kind", "order_line_id", "kind"),
    )


class NoticeCursor(Base):
    """How far vendor notices have handled the outbox: every event at or below it is done with."""

    __tablename__ = "vendor_notice_cursors"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_txid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_event_id: Mapped[int] = mapped_column(_BIGINT, default=0)
    updated_at: Mapped[dt.datetime]


class NoticeClaim(Base):
    """A vendor notice (an outbox event) claimed by a sender, then sent; kept until the cursor passes it."""

    __tablename__ = "vendor_notice_claims"

    # No foreign key: events are partitioned (PostgreSQL refers to them only by (id, created_at));
    # retention keeps an event while its claim is unsent.
    event_id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=False)
    txid: Mapped[int | None] = mapped_column(sa.BigInteger)
    token: Mapped[str] = mapped_column(sa.String(32))
    # A sender that dies leaves its claim to expire; the notice is then sent again.
    claimed_until: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
