"""Feed pages' reads: the recent runs of one feed."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.feeds.models import FeedRun

HISTORY = 20


def feed_history(session: Session, *, vendor_id: int, feed_id: int, limit: int = HISTORY) -> list[FeedRun]:
    """Return a feed's latest runs, newest first (indexed by feed_id)."""
    return list(
        session.scalars(
            sa.select(FeedRun)
            .where(FeedRun.feed_id == feed_id, FeedRun.vendor_id == vendor_id)
            .order_by(FeedRun.id.desc())
            .limit(limit)
        )
    )
