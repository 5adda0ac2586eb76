"""Connectors, the platform orders they took in, and the store listings they map to retailer items."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network.db import Base

SHOPIFY = "shopify"
WOOCOMMERCE = "woocommerce"
PLATFORMS = (SHOPIFY, WOOCOMMERCE)

ACTIVE = "active"
PAUSED = "paused"
STATUSES = (ACTIVE, PAUSED)

# What became of a platform order (ConnectorOrder.status).
PLACED = "placed"  # a hub order holds at least one of its lines
# The hub sources some lines but had no units for any of them: the hub order holds them all,
# flagged `unfillable`.
UNFILLED = "unfilled"
IGNORED = "ignored"  # no line is a product the hub sources: the merchant fulfils it
CANCELLED = "cancelled"  # cancelled on the platform (before or after it reached the hub)
INTAKE_STATUSES = (PLACED, UNFILLED, IGNORED, CANCELLED)


class Connector(Base):
    """A retailer's store: where its orders come from, its stock goes to, and its tracking goes back to."""

    __tablename__ = "connectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(sa.String(16))
    shop_url: Mapped[str] = mapped_column(sa.String(500))
    # Fernet-sealed JSON ({access_token, webhook_secret} or {consumer_key, consumer_secret,
    # webhook_secret}): network.feeds.credentials, the same key derivation as feed auth.
    credentials_sealed: Mapped[str] = mapped_column(sa.Text)
    location_id: Mapped[str | None] = mapped_column(sa.String(100))
    # The store shows max(0, min(available - buffer, max_quantity)). None: automatic, as for a
    # webhook endpoint (network/outbox/rules.py channel_figure), over the sync's interval.
    buffer: Mapped[int | None]
    max_quantity: Mapped[int | None]
    status: Mapped[str] = mapped_column(sa.String(16), default=ACTIVE)
    last_success_at: Mapped[dt.datetime | None]
    last_error_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    # Where the polling fallback resumes: the platform's updated_at of the last order it read.
    orders_cursor: Mapped[str | None] = mapped_column(sa.String(64))
    # How far the sync has read the retailer's outbox (an Event.seq): shipments, cancellations and
    # availability changes after it are still to be written to the store.
    events_seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), default=0)
    # One worker syncs a connector at a time: it holds this lease while it talks to the store.
    sync_lease_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        sa.CheckConstraint("platform IN ('shopify', 'woocommerce')", name="platform"),
        sa.CheckConstraint("status IN ('active', 'paused')", name="status"),
        sa.CheckConstraint("buffer IS NULL OR buffer >= 0", name="buffer"),
    )


class ConnectorOrder(Base):
    """One platform order as the hub took it in: the platform's id is its idempotency key."""

    __tablename__ = "connector_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(sa.ForeignKey("connectors.id", ondelete="CASCADE"))
    platform_order_id: Mapped[str] = mapped_column(sa.String(64))
    platform_order_name: Mapped[str] = mapped_column(sa.String(100), default="")
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    # Lines left to the merchant: [{platform_line_id, sku, variant_id, quantity, reason}].
    ignored_lines: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Lines the hub sources but could not fill: [{retailer_sku, requested, available, line_id}].
    unfilled_lines: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Order line id -> platform line id, for writing shipments back line by line.
    line_map: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Outbox events already written to the store (ids), so a retried sync never writes one twice.
    written_back: Mapped[list] = mapped_column(sa.JSON, default=list)
    received_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (sa.UniqueConstraint("connector_id", "platform_order_id"),)


class ConnectorListing(Base):
    """A store listing mapped to a retailer item: the platform ids found for its SKU, cached."""

    __tablename__ = "connector_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(sa.ForeignKey("connectors.id", ondelete="CASCADE"))
    retailer_sku: Mapped[str] = mapped_column(sa.String(100))
    platform_variant_id: Mapped[str | None] = mapped_column(sa.String(64))
    inventory_item_id: Mapped[str | None] = mapped_column(sa.String(100))
    # WooCommerce: the parent product of a variation (its stock is set through the parent's batch).
    platform_product_id: Mapped[str | None] = mapped_column(sa.String(64))
    # The figure the store was last sent, and when; `pending` when a newer one is owed.
    last_sent: Mapped[int | None]
    last_sent_at: Mapped[dt.datetime | None]
    pending: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        sa.UniqueConstraint("connector_id", "retailer_sku"),
        sa.Index("ix_connector_listings_variant", "connector_id", "platform_variant_id"),
    )
