"""Large pushes and uploads: kept at once, applied later by the worker, one at a time per vendor.

Reading and applying tens of megabytes takes seconds of a web worker; a vendor sending two such
files at once used to hold every worker and stall the API for all tenants. Above a size the web
request only records the raw bytes as a `queued` feed run (202); the worker claims queued runs
and applies each through the same pipeline as a synchronous push (network.feeds.services).

A vendor's runs apply in the order they arrived and never two at once, across any number of
worker processes: a run is claimed only when no older run of its vendor is still queued, and the
claim is a row lock held for the whole apply (FOR UPDATE SKIP LOCKED, so other workers pass on
to other vendors). A worker that dies mid-apply rolls back; the run stays queued and is claimed
again. Once a vendor has a queued run, its later pushes queue behind it whatever their size, so
a small delta can never overtake a large full count.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from network.clock import utcnow
from network.db import is_postgres, transaction
from network.errors import DomainError
from network.feeds import configs
from network.feeds import models as m
from network.feeds.parsing import FeedFormat
from network.feeds.pulling import hold_share
from network.feeds.push import read_push_json
from network.feeds.services import (
    FeedReceipt,
    format_settings,
    process_run,
    raw_bytes,
    record_receipt,
)

log = logging.getLogger(__name__)


def async_threshold(config: Mapping[str, Any]) -> int:
    """Bodies larger than this many bytes are queued (HUB_ASYNC_PUSH_BYTES)."""
    return int(config["HUB_ASYNC_PUSH_BYTES"])


def has_queued(session: Session, vendor_id: int) -> bool:
    """Tell whether some run of the vendor still waits for the worker."""
    return (
        session.scalar(
            sa.select(m.FeedRun.id)
            .where(m.FeedRun.vendor_id == vendor_id, m.FeedRun.status == m.QUEUED)
            .limit(1)
        )
        is not None
    )


def must_queue(session: Session, *, vendor_id: int, size: int, threshold: int) -> bool:
    """A body above `threshold` bytes is queued, and so is any body behind a queued run of the vendor."""
    return size > threshold or has_queued(session, vendor_id)


def queue_receipt(session: Session, receipt: FeedReceipt, *, now: dt.datetime) -> m.FeedRun:
    """Record a receipt as a queued run with its raw bytes and the format to read them with.

    A JSON push may come with no mode or basis (they are in the body, read by the worker).
    """
    run = record_receipt(session, receipt, status=m.QUEUED, now=now)
    run.format_settings = format_settings(receipt.fmt)
    return run


def claim_next(session: Session) -> m.FeedRun | None:
    """Lock the oldest queued run whose vendor has no older run waiting; None when there is none.

    The lock lasts until the caller's transaction ends; runs locked by other workers are skipped.
    """
    older = aliased(m.FeedRun)
    waiting_before = (
        sa.select(older.id)
        .where(older.vendor_id == m.FeedRun.vendor_id, older.status == m.QUEUED, older.id < m.FeedRun.id)
        .exists()
    )
    query = (
        sa.select(m.FeedRun)
        .where(m.FeedRun.status == m.QUEUED, ~waiting_before)
        .order_by(m.FeedRun.id)
        .limit(1)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=m.FeedRun)
    return session.scalar(query)


def apply_claimed(
    session: Session, run: m.FeedRun, *, now: dt.datetime, hold_share: float | None
) -> m.FeedRun:
    """Read and apply a claimed run as a synchronous push would have; the outcome is on the run.

    A body that turns out unusable (a JSON push with bad fields) rejects the run with the reason.
    """
    data = raw_bytes(session, run.id)
    if data is None:
        return _close(run, m.FAILED, "the raw file of this run is gone; send it again", now=now)
    fmt = FeedFormat(**(run.format_settings or {}))
    records = None
    # The run's as_of is the one the vendor gave, or else its receipt time (which _apply falls back
    # to anyway, after any as-of inside the file).
    as_of = None if run.as_of == run.received_at else run.as_of
    mode, basis = run.mode, run.basis
    if run.transport == m.PUSH and fmt.kind == "json":
        try:
            document = read_push_json(data)
        except DomainError as exc:
            return _close(run, m.REJECTED, exc.detail, now=now)
        mode, basis, as_of, records = document.mode, document.basis, document.as_of, document.rows
    receipt = FeedReceipt(
        vendor_id=run.vendor_id,
        transport=run.transport,
        mode=mode or "",
        basis=basis or "",
        data=data,
        fmt=fmt,
        as_of=as_of,
        feed_id=run.feed_id,
        records=records,
    )
    try:
        process_run(session, run, receipt, now=now, hold_share=hold_share)
    except DomainError as exc:
        return _close(run, m.REJECTED, exc.detail, now=now)
    if run.transport == m.UPLOAD and run.feed_id is not None:
        feed = session.get(m.Feed, run.feed_id)
        if feed is not None:  # deleted since: its runs stay in the history
            configs.note_upload(feed, run, now=now)
    return run


def apply_queued(
    session: Session, config: Mapping[str, Any], *, budget_seconds: float, now: dt.datetime | None = None
) -> list[m.FeedRun]:
    """Apply queued runs, oldest first, each in its own transaction, for at most `budget_seconds`.

    A fault while applying one (not a bad file: that is a rejected run) closes that run as failed
    so it cannot block its vendor's queue; a lost database connection leaves it queued for later.
    """
    started = time.monotonic()
    runs: list[m.FeedRun] = []
    while time.monotonic() - started < budget_seconds:
        run_id = None
        try:
            with transaction(session):
                run = claim_next(session)
                if run is None:
                    break
                run_id = run.id
                runs.append(apply_claimed(session, run, now=now or utcnow(), hold_share=hold_share(config)))
        except sa.exc.OperationalError:
            log.exception("applying queued feed run %s: database unavailable; retried later", run_id)
            break
        except Exception:
            log.exception("applying queued feed run %s failed", run_id)
            if run_id is None:
                break
            with transaction(session):
                fail(session, run_id, "the hub could not apply this file; send it again", now=utcnow())
            continue
        log.info("queued feed run %d: %s", run_id, runs[-1].status)
    return runs


def fail(session: Session, run_id: int, reason: str, *, now: dt.datetime) -> m.FeedRun | None:
    """Close a queued run the worker could not apply (a fault, not the vendor's file)."""
    run = session.get(m.FeedRun, run_id)
    if run is None or run.status != m.QUEUED:
        return None
    return _close(run, m.FAILED, reason, now=now)


def _close(run: m.FeedRun, status: str, message: str, *, now: dt.datetime) -> m.FeedRun:
    run.status, run.message, run.finished_at = status, message, now
    run.duration_ms = 0
    return run
