"""One stored answer per (organization, Idempotency-Key)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network.db import Base


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    # What the key was used for (method and path) and a hash of the body it came with.
    scope: Mapped[str] = mapped_column(sa.String(200))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    # Null while the first request is still being handled (its transaction holds the row).
    status_code: Mapped[int | None]
    response: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime]

    __table_args__ = (sa.UniqueConstraint("org_id", "key"),)
