"""The feed pipeline: receive, keep the raw bytes, parse, validate, apply, publish, record the run."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.services import items_of_vendor, items_sourcing, publish_changes
from network.errors import InvalidFeed, InvalidInput, NotFound
from network.feeds import models as m
from network.feeds.parsing import FeedFormat, ParsedFeed, parse_feed, parse_records
from network.orders import inflight as orders_inflight
from network.partners.models import Connection
from network.stock import services as stock
from network.stock.models import BASES

MODES = ("full", "delta")
TRANSPORTS = ("push", "upload", "pull")
MAX_STORED_ERRORS = 1000


@dataclass(frozen=True)
class FeedReceipt:
    """A feed as it arrived, before anything is decided about it."""

    vendor_id: int
    transport: str
    mode: str
    basis: str
    data: bytes
    content_type: str = "text/csv"
    fmt: FeedFormat = FeedFormat()
    as_of: dt.datetime | None = None
    feed_id: int | None = None
    # Rows already decoded by the caller (a JSON push); the raw bytes are still kept.
    records: Sequence[Mapping[str, object]] | None = None


def content_hash(receipt: FeedReceipt) -> str:
    digest = hashlib.sha256()
    for part in (receipt.mode, receipt.basis, receipt.as_of.isoformat() if receipt.as_of else ""):
        digest.update(part.encode() + b"\0")
    digest.update(receipt.data)
    return digest.hexdigest()


def receive_feed(session: Session, receipt: FeedReceipt, *, now: dt.datetime) -> m.FeedRun:
    """Run a received feed through the whole pipeline and return its recorded run.

    A body that cannot be parsed is recorded as a rejected run and changes no stock.
    Raises InvalidInput for a mode, basis or transport the hub does not know.
    """
    started = time.perf_counter()
    _check_receipt(receipt)
    digest = content_hash(receipt)
    run = m.FeedRun(
        vendor_id=receipt.vendor_id,
        feed_id=receipt.feed_id,
        transport=receipt.transport,
        format=receipt.fmt.kind,
        mode=receipt.mode,
        basis=receipt.basis,
        status=m.FAILED,
        content_hash=digest,
        as_of=receipt.as_of or now,
        received_at=now,
        errors=[],
    )
    session.add(run)
    session.flush()
    session.add(
        m.FeedRunPayload(
            run_id=run.id,
            content_type=receipt.content_type[:100],
            size=len(receipt.data),
            gzipped=gzip.compress(receipt.data, compresslevel=1),
        )
    )
    stock.lock_vendor_stock(session, receipt.vendor_id)
    previous = _last_applied(session, receipt.vendor_id, receipt.feed_id, before_id=run.id)
    if previous is not None and previous.content_hash == digest:
        # Identical bytes are not a new count: the staleness clock keeps running, so a vendor
        # export that silently stopped regenerating goes stale instead of showing old stock forever.
        _finish(run, m.NOT_MODIFIED, started, message=f"identical to feed run {previous.id}")
        return run
    try:
        parsed = _parse(receipt)
    except InvalidFeed as exc:
        _finish(run, m.REJECTED, started, message=exc.detail)
        return run
    superseded = _apply(session, run, receipt, parsed, now=now)
    _finish(run, m.REJECTED if superseded else _status(run), started)
    return run


def _check_receipt(receipt: FeedReceipt) -> None:
    errors = {}
    if receipt.mode not in MODES:
        errors["mode"] = ["must be full or delta"]
    if receipt.basis not in BASES:
        errors["basis"] = ["must be available or on_hand"]
    if receipt.transport not in TRANSPORTS:
        errors["transport"] = ["must be push, upload or pull"]
    if errors:
        raise InvalidInput("invalid feed settings", errors=errors)


def _parse(receipt: FeedReceipt) -> ParsedFeed:
    if receipt.records is not None:
        return parse_records(receipt.records, receipt.fmt)
    return parse_feed(receipt.data, receipt.fmt)


def _apply(
    session: Session, run: m.FeedRun, receipt: FeedReceipt, parsed: ParsedFeed, *, now: dt.datetime
) -> bool:
    """Apply parsed rows to stock and publish what moved; return True if a newer count superseded the feed."""
    full = receipt.mode == "full"
    as_of = receipt.as_of or parsed.as_of or now
    run.as_of = as_of
    previous_snapshot = stock.snapshot_as_of(session, receipt.vendor_id)
    if full and previous_snapshot is not None and as_of < previous_snapshot:
        run.rows_rejected = parsed.rows_seen
        run.rows_seen = parsed.rows_seen
        run.message = f"superseded: a full count as of {previous_snapshot.isoformat()} is already applied"
        return True
    plan = stock.plan_counts(
        session, vendor_id=receipt.vendor_id, rows=parsed.rows, full=full, basis=receipt.basis, as_of=as_of
    )
    # Positions with in-flight order lines get their committed units recomputed against the new
    # snapshot (DESIGN §4); they are locked together with the changed ones, in variant order.
    inflight = orders_inflight.variants_in_flight(session, receipt.vendor_id)
    changed = stock.carry_out(
        session,
        plan,
        vendor_id=receipt.vendor_id,
        full=full,
        as_of=as_of,
        feed_run_id=run.id,
        now=now,
        also_lock=inflight,
    )
    orders_inflight.recompute_committed(session, inflight, now=now)
    if full and _freshness_may_change(session, receipt.vendor_id, previous_snapshot, now):
        affected = items_of_vendor(session, receipt.vendor_id)
    else:
        affected = items_sourcing(session, sorted({*changed, *inflight}))
    publish_changes(session, affected, now=now)
    errors = [*parsed.errors, *plan.errors]
    errors.sort(key=lambda e: e.line)
    run.rows_seen = parsed.rows_seen
    run.rows_applied = plan.applied
    run.rows_rejected = len(errors)
    run.rows_changed = sum(1 for _, _, diff in plan.changes if diff)
    run.errors = [{"line": e.line, "sku": e.sku, "reason": e.reason} for e in errors[:MAX_STORED_ERRORS]]
    return False


def _freshness_may_change(
    session: Session, vendor_id: int, previous: dt.datetime | None, now: dt.datetime
) -> bool:
    """Tell whether the vendor's stock may have been stale for some retailer before this snapshot."""
    if previous is None:
        return True
    shortest = session.scalar(
        sa.select(sa.func.min(Connection.stale_after_minutes)).where(Connection.vendor_id == vendor_id)
    )
    return shortest is not None and now - previous > dt.timedelta(minutes=shortest)


def _status(run: m.FeedRun) -> str:
    if run.rows_rejected == 0:
        return m.APPLIED
    return m.PARTIALLY_APPLIED if run.rows_applied else m.REJECTED


def _finish(run: m.FeedRun, status: str, started: float, *, message: str | None = None) -> None:
    run.status = status
    if message is not None:
        run.message = message
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.finished_at = run.received_at + dt.timedelta(milliseconds=run.duration_ms)


def _last_applied(
    session: Session, vendor_id: int, feed_id: int | None, *, before_id: int
) -> m.FeedRun | None:
    return session.scalar(
        sa.select(m.FeedRun)
        .where(
            m.FeedRun.vendor_id == vendor_id,
            m.FeedRun.feed_id.is_(None) if feed_id is None else m.FeedRun.feed_id == feed_id,
            m.FeedRun.status.in_((m.APPLIED, m.PARTIALLY_APPLIED)),
            m.FeedRun.id < before_id,
        )
        .order_by(m.FeedRun.id.desc())
        .limit(1)
    )


def list_runs(session: Session, *, vendor_id: int, after_id: int | None, limit: int) -> list[m.FeedRun]:
    """Return a vendor's feed runs, newest first."""
    query = sa.select(m.FeedRun).where(m.FeedRun.vendor_id == vendor_id)
    if after_id is not None:
        query = query.where(m.FeedRun.id < after_id)
    return list(session.scalars(query.order_by(m.FeedRun.id.desc()).limit(limit)))


def get_run(session: Session, run_id: int, *, vendor_id: int) -> m.FeedRun:
    """Raises NotFound."""
    run = session.get(m.FeedRun, run_id)
    if run is None or run.vendor_id != vendor_id:
        raise NotFound(f"feed run {run_id} not found")
    return run


def raw_bytes(session: Session, run_id: int) -> bytes | None:
    payload = session.get(m.FeedRunPayload, run_id)
    return None if payload is None else gzip.decompress(payload.gzipped)
