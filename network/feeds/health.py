"""Feed health: stale sources, feeds gone quiet, and the retention of raw feed files.

- A source is stale for a retailer when the vendor's last count is older than the connection's
  `stale_after` (its stock then counts as zero, DESIGN §5). `feed.stale` and `feed.recovered`
  go to the vendor and the retailer once per transition; a `StaleSource` row marks the state.
- Cadence: each feed's usual interval is learned from its last good runs (the median gap, so
  one late night or one double send does not move it). A feed silent for three of its
  intervals publishes `feed.late` once, until a good run arrives: a warning long before
  `stale_after` zeroes the stock.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.services import note_connection_change
from network.db import try_job_lock
from network.feeds import models as m
from network.outbox.events import DomainEvent, FeedLate, FeedRecovered, FeedStale
from network.outbox.services import record_many
from network.partners.models import Connection
from network.stock.models import StockPosition, StockSnapshot

LEARN_FROM_RUNS = 8  # the last good runs whose gaps make the usual interval
MIN_GAPS = 3  # fewer gaps than this teach nothing; a pull feed then uses its own interval
LATE_AFTER_INTERVALS = 3
MINUTE = dt.timedelta(minutes=1)  # of a pull feed's interval (HUB_FEED_MINUTE_SECONDS)


def usual_interval(moments: Sequence[dt.datetime]) -> dt.timedelta | None:
    """Return the median gap between successive moments (any order), or None if too few."""
    ordered = sorted(moments)
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(ordered, ordered[1:], strict=False)]
    gaps = [gap for gap in gaps if gap > 0]
    if len(gaps) < MIN_GAPS:
        return None
    return dt.timedelta(seconds=statistics.median(gaps))


def check_feeds(session: Session, *, now: dt.datetime, minute: dt.timedelta = MINUTE) -> bool:
    """Publish stale/recovered sources and late feeds; False (nothing done) while another worker is at it."""
    # One check at a time across workers (held until commit): two at once would both find a quiet
    # feed not yet reported, and both publish feed.late.
    if not try_job_lock(session, "feed health"):
        return False
    mark_stale_sources(session, now=now)
    check_cadence(session, now=now, minute=minute)
    return True


def mark_stale_sources(session: Session, *, now: dt.datetime) -> int:
    """Publish feed.stale / feed.recovered for connections whose vendor's stock changed state.

    Returns the number of transitions.
    """
    last_counts = _last_counts(session)
    marks = {mark.connection_id: mark for mark in session.scalars(sa.select(m.StaleSource))}
    events: list[tuple[int, str, DomainEvent]] = []
    transitions = 0
    connections = session.execute(
        sa.select(Connection.id, Connection.retailer_id, Connection.vendor_id, Connection.stale_after_minutes)
        .where(Connection.status == "active")
        .order_by(Connection.id)
    )
    for conn in connections:
        last = last_counts.get(conn.vendor_id)
        mark = marks.pop(conn.id, None)
        if last is None:  # never counted: nothing went stale, there was nothing to count
            if mark is not None:
                session.delete(mark)
            continue
        stale = now - last > dt.timedelta(minutes=conn.stale_after_minutes)
        key = f"connection:{conn.id}"
        if stale and mark is None:
            session.add(
                m.StaleSource(
                    connection_id=conn.id,
                    vendor_id=conn.vendor_id,
                    retailer_id=conn.retailer_id,
                    last_count_at=last,
                    since=now,
                )
            )
            event: DomainEvent = FeedStale(
                vendor_id=conn.vendor_id,
                retailer_id=conn.retailer_id,
                last_count_at=last.isoformat(),
                stale_after_minutes=conn.stale_after_minutes,
            )
        elif not stale and mark is not None:
            session.delete(mark)
            event = FeedRecovered(
                vendor_id=conn.vendor_id, retailer_id=conn.retailer_id, last_count_at=last.isoformat()
            )
        else:
            continue
        transitions += 1
        events += [(conn.vendor_id, key, event), (conn.retailer_id, key, event)]
        note_connection_change(
            session,
            retailer_id=conn.retailer_id,
            vendor_id=conn.vendor_id,
            connection_id=conn.id,
            reason="stale" if stale else "fresh",
            changes={"stale": [not stale, stale]},
            now=now,
        )
    for mark in marks.values():  # connections paused or ended since: their state no longer matters
        session.delete(mark)
    record_many(session, events, now=now)
    session.flush()
    return transitions


def _last_counts(session: Session) -> dict[int, dt.datetime]:
    """Return each vendor's latest count: its last full snapshot or its newest reported row."""
    newest_rows = session.execute(
        sa.select(StockPosition.vendor_id, sa.func.max(StockPosition.as_of)).group_by(StockPosition.vendor_id)
    )
    last = {vendor_id: as_of for vendor_id, as_of in newest_rows if as_of is not None}
    for vendor_id, as_of in session.execute(sa.select(StockSnapshot.vendor_id, StockSnapshot.as_of)):
        if vendor_id not in last or as_of > last[vendor_id]:
            last[vendor_id] = as_of
    return last


def check_cadence(session: Session, *, now: dt.datetime, minute: dt.timedelta = MINUTE) -> int:
    """Learn each active feed's usual interval and publish feed.late for feeds gone quiet.

    Returns the number of feed.late events published.
    """
    published = 0
    events: list[tuple[int, str, DomainEvent]] = []
    feeds = session.execute(
        sa.select(
            m.Feed.id,
            m.Feed.vendor_id,
            m.Feed.transport,
            m.Feed.interval_minutes,
            m.Feed.created_at,
            m.Feed.last_success_at,
            m.Feed.late_notified,
        )
        .where(m.Feed.active.is_(True))
        .order_by(m.Feed.id)
    ).all()
    for feed in feeds:
        moments = list(
            session.scalars(
                sa.select(m.FeedRun.received_at)
                .where(_runs_of(feed), m.FeedRun.status.in_(m.GOOD_STATUSES))
                .order_by(m.FeedRun.id.desc())
                .limit(LEARN_FROM_RUNS)
            )
        )
        learned = usual_interval(moments)
        last_success = max(moments) if moments else feed.last_success_at
        expected = learned or (feed.interval_minutes * minute if feed.transport == m.PULL else None)
        late = (
            expected is not None and now - (last_success or feed.created_at) > LATE_AFTER_INTERVALS * expected
        )
        notify = late and not feed.late_notified
        # Written only over the row as read: a pull or push that succeeded meanwhile has set a newer
        # last success (and cleared late_notified), which this check must neither undo nor report
        # late. Such a feed is skipped now and looked at again on the next run.
        written = session.execute(
            sa.update(m.Feed)
            .where(m.Feed.id == feed.id, m.Feed.last_success_at.is_not_distinct_from(feed.last_success_at))
            .values(
                learned_interval_seconds=int(learned.total_seconds()) if learned else None,
                last_success_at=last_success,
                late_notified=late if expected is not None else feed.late_notified,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if not (written and notify):
            continue
        event = FeedLate(
            feed_id=feed.id,
            vendor_id=feed.vendor_id,
            last_success_at=last_success.isoformat() if last_success else None,
            usual_interval_minutes=max(1, round(expected.total_seconds() / 60)),
        )
        key = f"feed:{feed.id}"
        events.append((feed.vendor_id, key, event))
        events += [(retailer_id, key, event) for retailer_id in _retailers_of(session, feed.vendor_id)]
        published += 1
    record_many(session, events, now=now)
    session.expire_all()
    return published


def _runs_of(feed: m.Feed | sa.Row) -> sa.ColumnElement[bool]:
    """Runs that belong to a feed; pushes through the inventory API name no feed, so a push feed owns them."""
    own = sa.and_(m.FeedRun.vendor_id == feed.vendor_id, m.FeedRun.feed_id == feed.id)
    if feed.transport != m.PUSH:
        return own
    pushed = sa.and_(
        m.FeedRun.vendor_id == feed.vendor_id, m.FeedRun.feed_id.is_(None), m.FeedRun.transport == m.PUSH
    )
    return sa.or_(own, pushed)


def _retailers_of(session: Session, vendor_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(Connection.retailer_id)
            .where(Connection.vendor_id == vendor_id, Connection.status == "active")
            .order_by(Connection.retailer_id)
        )
    )


def drop_old_payloads(session: Session, *, before: dt.datetime) -> int:
    """Delete the raw files of runs received before a moment, except held runs awaiting a decision
    and queued runs awaiting the worker.

    Returns how many were deleted.
    """
    old_runs = sa.select(m.FeedRun.id).where(
        m.FeedRun.received_at < before, m.FeedRun.status.not_in((m.HELD, m.QUEUED))
    )
    result = session.execute(
        sa.delete(m.FeedRunPayload)
        .where(m.FeedRunPayload.run_id.in_(old_runs))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
