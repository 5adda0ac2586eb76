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
