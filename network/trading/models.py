"""EDI trading: a vendor's trading-partner setup, every file exchanged, 850s sent, and invoices.

Control numbers (ISA13, GS06, ST02) are counters on the partner row, taken under its row lock, so
they are unique and increasing per partner whatever the number of workers. Every file in or out is
kept raw with its processing report; an inbound file is known by name + size + SHA-256, so a file
seen twice is processed once.
"""

from __future__ import annotations

import datetime as dt
import decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import Base

VERSIONS = ("004010", "004010VICS", "005010")
DOCUMENTS = ("850", "855", "856", "810", "846", "860", "997")
AFTER_PULL = ("archive", "leave")

IN = "in"
OUT = "out"
# Inbound file outcomes (like feed runs) and outbound file states.
APPLIED = "applied"
PARTIALLY_APPLIED = "partially_applied"
REJECTED = "rejected"
PENDING = "pending"
SENT = "sent"
FILE_STATUSES = (APPLIED, PARTIALLY_APPLIED, REJECTED, PENDING, SENT)


class TradingPartner(Base):
    """One vendor's X12 setup: both sides' ids, version, separators, documents and SFTP mailbox."""

    __tablename__ = "edi_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    isa_qualifier: Mapped[str] = mapped_column(sa.String(2))
    isa_id: Mapped[str] = mapped_column(sa.String(15))
    hub_isa_qualifier: Mapped[str] = mapped_column(sa.String(2))
    hub_isa_id: Mapped[str] = mapped_column(sa.String(15))
    version: Mapped[str] = mapped_column(sa.String(12), default="004010")
    # What the hub writes with (the partner's own files declare theirs in their ISA).
    element_separator: Mapped[str] = mapped_column(sa.String(1), default="*")
    component_separator: Mapped[str] = mapped_column(sa.String(1), default=">")
    segment_terminator: Mapped[str] = mapped_column(sa.String(1), default="~")
    repetition_separator: Mapped[str] = mapped_column(sa.String(1), default="^")
    documents: Mapped[list] = mapped_column(sa.JSON, default=list)
    # How long an 850 may wait for its 997 before its purchase order is flagged.
    ack_window_minutes: Mapped[int] = mapped_column(default=240)
    test_mode: Mapped[bool] = mapped_column(default=False)
    # Transport: an SFTP mailbox the hub logs into.
    host: Mapped[str] = mapped_column(sa.String(255))
    port: Mapped[int] = mapped_column(default=22)
    username: Mapped[str] = mapped_column(sa.String(100))
    # Fernet token of {"password"} or {"private_key"} (network/feeds/credentials.py); never returned.
    credentials_sealed: Mapped[str] = mapped_column(sa.Text)
    inbound_dir: Mapped[str] = mapped_column(sa.String(500), default="in")
    outbound_dir: Mapped[str] = mapped_column(sa.String(500), default="out")
    pattern: Mapped[str] = mapped_column(sa.String(100), default="*")
    after_pull: Mapped[str] = mapped_column(sa.String(8), default="archive")
    archive_dir: Mapped[str] = mapped_column(sa.String(500), default="archive")
    # Pinned server key ("<type> <base64>"): recorded on first contact; a different one is refused
    # and kept in offered_host_key until an operator or the vendor confirms it.
    host_key: Mapped[str | None] = mapped_column(sa.Text)
    offered_host_key: Mapped[str | None] = mapped_column(sa.Text)
    interchange_control: Mapped[int] = mapped_column(default=0)
    group_control: Mapped[int] = mapped_column(default=0)
    set_control: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    next_poll_at: Mapped[dt.datetime | None]
    poll_minutes: Mapped[int] = mapped_column(default=15)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        sa.CheckConstraint("after_pull IN ('archive', 'leave')", name="after_pull"),
        sa.CheckConstraint("port > 0 AND port < 65536", name="port"),
    )


class EdiFile(Base):
    """A file exchanged with a partner: its raw text, and what became of it (the processing report)."""

    __tablename__ = "edi_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(sa.String(3))
    name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    raw: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20))
    # Set ids in the file ("850", "997", ...), and per set what happened, in words.
    documents: Mapped[list] = mapped_column(sa.JSON, default=list)
    report: Mapped[list] = mapped_column(sa.JSON, default=list)
    interchange_control: Mapped[str] = mapped_column(sa.String(9), default="")
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]

    __table_args__ = (
        sa.Index("ix_edi_files_vendor_id_id", "vendor_id", "id"),
        sa.Index("ix_edi_files_pending", "direction", "status"),
        sa.UniqueConstraint("vendor_id", "direction", "name", "size", "sha256", name="uq_edi_files_seen"),
        sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )


class EdiPurchaseOrder(Base):
    """An 850 sent for a purchase order: its control numbers, and the 997 that answered it."""

    __tablename__ = "edi_purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    po_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(3), default="850")
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("edi_files.id", ondelete="CASCADE"))
    interchange_control: Mapped[int]
    group_control: Mapped[int]
    set_control: Mapped[int]
    # For an 860: the last retailer cancellation (po_transitions.id) it carries.
    transition_id: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    ack_due_at: Mapped[dt.datetime]
    # The 997's AK5 for this set (A, E, R) when it came; flagged_at once it did not come in time.
    ack_status: Mapped[str | None] = mapped_column(sa.String(1))
    acked_at: Mapped[dt.datetime | None]
    flagged_at: Mapped[dt.datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("vendor_id", "group_control", "set_control", name="uq_edi_po_controls"),
        sa.Index("ix_edi_purchase_orders_waiting", "acked_at", "flagged_at", "ack_due_at"),
    )


class Invoice(Base):
    """A vendor's invoice for a purchase order (from an 810 or raised by hand), matched line by line."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    po_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(sa.String(30))
    invoice_date: Mapped[dt.date | None]
    source: Mapped[str] = mapped_column(sa.String(8))  # "edi" or "manual"
    total: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(14, 4))
    stated_total: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(14, 4))
    # Every difference from what was ordered and shipped, in words with the figures.
    mismatches: Mapped[list] = mapped_column(sa.JSON, default=list)
    edi_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("edi_files.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("vendor_id", "number", name="uq_invoices_vendor_number"),
        sa.Index("ix_invoices_retailer_id_id", "retailer_id", "id"),
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    po_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("purchase_order_lines.id", ondelete="SET NULL")
    )
    vendor_sku: Mapped[str] = mapped_column(sa.String(100), default="")
    quantity: Mapped[int]
    unit_price: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(12, 4))
    ordered: Mapped[int | None]
    shipped: Mapped[int | None]
    unit_cost: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(12, 4))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
