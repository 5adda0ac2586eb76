"""What vendors offer (variants) and what retailers sell (items and their sources)."""

from __future__ import annotations

import datetime as dt
import decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.db import Base


class VendorVariant(Base):
    __tablename__ = "vendor_variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    vendor_sku: Mapped[str] = mapped_column(sa.String(100))
    gtin: Mapped[str | None] = mapped_column(sa.String(14), index=True)
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    cost: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(12, 4))
    msrp: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(12, 4))
    # Minimum advertised price: retailers must not show a lower price.
    map_price: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(12, 4))
    # Shipping weight in kilograms.
    weight: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(12, 4))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    image_urls: Mapped[list] = mapped_column(sa.JSON, default=list)
    attributes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (sa.UniqueConstraint("vendor_id", "vendor_sku"),)


class RetailerItem(Base):
    __tablename__ = "retailer_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    retailer_sku: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    # The item's own GTIN (what the retailer sells it as): GTIN auto-match suggests the connected
    # vendors' variants of the same GTIN as its sources.
    gtin: Mapped[str | None] = mapped_column(sa.String(14))
    # The figure last published to the retailer; a change is published only when this moves.
    published_available: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    sources: Mapped[list[ItemSource]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="ItemSource.priority"
    )

    __table_args__ = (
        sa.UniqueConstraint("retailer_id", "retailer_sku"),
        sa.Index("ix_retailer_items_retailer_id_gtin", "retailer_id", "gtin"),
    )


class ItemSource(Base):
    """A vendor variant that can fulfil a retailer item; lower priority is tried first."""

    __tablename__ = "item_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("retailer_items.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("vendor_variants.id", ondelete="CASCADE"), index=True
    )
    priority: Mapped[int] = mapped_column(default=0)

    item: Mapped[RetailerItem] = relationship(back_populates="sources")
    variant: Mapped[VendorVariant] = relationship()

    __table_args__ = (sa.UniqueConstraint("item_id", "variant_id"),)
