"""The outbox: every event is written in the transaction that makes the change it reports."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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

    __table_args__ = (sa.Index("ix_events_org_type_id", "org_id", "type", "id"),)
