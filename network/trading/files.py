"""Reads of the files exchanged with trading partners (each with its processing report)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.trading.models import EdiFile


def list_files(session: Session, *, vendor_id: int, after_id: int, limit: int) -> list[EdiFile]:
    return list(
        session.scalars(
            sa.select(EdiFile)
            .where(EdiFile.vendor_id == vendor_id, EdiFile.id > after_id)
            .order_by(EdiFile.id)
            .limit(limit)
        )
    )
