"""Holds on oversold variants: a variant on hold counts zero network-wide (DESIGN §9).

The availability formula reads them, so they sit in this area; flags place and lift them
(network/flags/holds.py).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network.db import Base


class VariantHold(Base):
    """A variant held at zero network-wide after its vendor refused a line for lack of stock it had reported.

    Active while not lifted and `until` is ahead; lifted by time, by a later count of the
    variant, or by the vendor or a retailer that sources it.
    """

    __tablename__ = "variant_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(sa.ForeignKey("vendor_variants.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(sa.String(32))
    # The refused line and what the hub had on record when the vendor refused it.
    po_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("purchase_order_lines.id", ondelete="SET NULL")
    )
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    placed_at: Mapped[dt.datetime]
    until: Mapped[dt.datetime]
    lifted_at: Mapped[dt.datetime | None]
    # expired | snapshot | vendor | retailer
    lifted_by: Mapped[str | None] = mapped_column(sa.String(16))
    lifted_by_org_id: Mapped[int | None]

    __table_args__ = (
        sa.Index("ix_variant_holds_variant_id_lifted_at", "variant_id", "lifted_at"),
        sa.Index("ix_variant_holds_vendor_id_id", "vendor_id", "id"),
    )

    @classmethod
    def active_at(cls, now: dt.datetime) -> sa.ColumnElement[bool]:
        """The holds that count at `now`: not lifted, time not run out."""
        return sa.and_(cls.lifted_at.is_(None), cls.until > now)


# --- predictive availability (DESIGN §14) ------------------------------------------------------

FIXED, PREDICTIVE = "fixed", "predictive"
AVAILABILITY_MODELS = (FIXED, PREDICTIVE)


class AvailabilitySettings(Base):
    """A retailer's choice of availability model and what a cancellation and a sale are worth to it.

    No row: the fixed formula (count less committed less buffer), as before issue 18.
    """

    __tablename__ = "availability_settings"

    retailer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(sa.String(16), default=FIXED)
    cancellation_cost: Mapped[float] = mapped_column(sa.Float, default=100.0)
    # Share of a unit's price the retailer earns on it; None: the variant's (msrp - cost) / msrp.
    margin_share: Mapped[float | None] = mapped_column(sa.Float)
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        sa.CheckConstraint("model IN ('fixed', 'predictive')", name="model"),
        sa.CheckConstraint("cancellation_cost >= 0", name="cancellation_cost"),
        sa.CheckConstraint(
            "margin_share IS NULL OR (margin_share > 0 AND margin_share <= 1)", name="margin_share"
        ),
    )


class DepletionEstimate(Base):
    """What the hub has learned of a vendor variant's outside sales (network/availability/depletion.py),
    updated when a count moves it; true as of `at` (the count it last learned from)."""

    __tablename__ = "depletion_estimates"

    variant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("vendor_variants.id", ondelete="CASCADE"), primary_key=True
    )
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    shape: Mapped[float] = mapped_column(sa.Float)
    exposure: Mapped[float] = mapped_column(sa.Float)
    recent_sales: Mapped[float] = mapped_column(sa.Float, default=0.0)
    recent_minutes: Mapped[float] = mapped_column(sa.Float, default=0.0)
    at: Mapped[dt.datetime]


class VendorDepletion(Base):
    """Per vendor: its variants' mean outside-sales rate (the cold start of a variant never seen) and
    the mean delay between a purchase order and the vendor's acknowledgement of it."""

    __tablename__ = "vendor_depletion"

    vendor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    prior_rate: Mapped[float] = mapped_column(sa.Float, default=0.0)  # per minute
    import_delay_minutes: Mapped[float | None] = mapped_column(sa.Float)
    updated_at: Mapped[dt.datetime]
