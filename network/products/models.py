"""Catalog files a vendor imported: what each did, and rows held for the vendor's confirmation."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network.db import Base

APPLIED = "applied"
PARTIALLY_APPLIED = "partially_applied"
REJECTED = "rejected"
IMPORT_STATUSES = (APPLIED, PARTIALLY_APPLIED, REJECTED)


class CatalogImport(Base):
    __tablename__ = "catalog_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(24))
    rows_seen: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    # [{line, sku, reason}]
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Rows held by a guard (network/products/guards.py) until the vendor confirms or drops them:
    # [{line, sku, reason, values}]; emptied as they are resolved.
    held: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]

    __table_args__ = (sa.Index("ix_catalog_imports_vendor_id_id", "vendor_id", "id"),)
