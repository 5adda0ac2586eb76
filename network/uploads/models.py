"""Files a vendor uploaded in the portal and has not applied yet (mapping preview, then apply)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network.db import Base


class UploadDraft(Base):
    """An uploaded stock file waiting for its column mapping to be confirmed; kept in the database
    so that any web process can show the preview and apply it."""

    __tablename__ = "upload_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int]
    gzipped: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime]
