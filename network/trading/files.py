"""Reads of the files exchanged with trading partners (each with its processing report)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.errors import NotFound
from network.trading.models import PENDING, EdiFile


def list_files(session: Session, *, vendor_id: int, after_id: int, limit: int) -> list[EdiFile]:
    return list(
        session.scalars(
            sa.select(EdiFile)
            .where(EdiFile.vendor_id == vendor_id, EdiFile.id > after_id)
            .order_by(EdiFile.id)
            .limit(limit)
        )
    )


def get_file(session: Session, file_id: int, *, vendor_id: int) -> EdiFile:
    """Raises NotFound for another vendor's file."""
    found = session.get(EdiFile, file_id)
    if found is None or found.vendor_id != vendor_id:
        raise NotFound(f"no EDI file {file_id}")
    return found


def drop_old_raw(session: Session, *, before: dt.datetime) -> int:
    """Empty the raw text of files exchanged before `before` (their reports stay), as feed runs'
    raw files are dropped after HUB_FEED_RAW_RETENTION_DAYS; a file still to be sent keeps it."""
    result = session.execute(
        sa.update(EdiFile)
        .where(EdiFile.created_at < before, EdiFile.status != PENDING, EdiFile.raw != "")
        .values(raw="")
    )
    return result.rowcount or 0
