"""The feed pipeline: receive, keep the raw bytes, parse, validate, apply, publish, record the run."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability import learning
from network.availability.services import items_of_vendor, items_sourcing, publish_changes
from network.errors import Conflict, InvalidFeed, InvalidInput, NotFound
from network.feeds import guards, jumps
from network.feeds import models as m
from network.feeds.parsing import FeedFormat, ParsedFeed, parse_feed, parse_records
from network.flags import hooks as flag_hooks
from network.orders import hub_units
from network.orders import inflight as orders_inflight
from network.outbox.events import FeedHeld
from network.outbox.services import record
from network.partners import audit
from network.partners.audit import Actor
from network.partners.guards import guard_limits
from network.partners.models import Connection
from network.stock import services as stock
from network.stock.models import BASES
from network.stock.rows import RowError
from network.stock.snapshot import CountMove
from network.stock.staging import Planner, Stage

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


def format_settings(fmt: FeedFormat) -> dict:
    """Return a format as plain JSON values; `FeedFormat(**settings)` rebuilds it."""
    return {
        "kind": fmt.kind,
        "mapping": dict(fmt.mapping),
        "delimiter": fmt.delimiter,
        "encoding": fmt.encoding,
        "filter": dict(fmt.filter),
        "sum_duplicates": fmt.sum_duplicates,
        "decimal_quantities": fmt.decimal_quantities,
    }


def content_hash(receipt: FeedReceipt) -> str:
    digest = hashlib.sha256()
    for part in (receipt.mode, receipt.basis, receipt.as_of.isoformat() if receipt.as_of else ""):
        digest.update(part.encode() + b"\0")
    # The same bytes read with another mapping are another count (a vendor fixing its mapping).
    digest.update(json.dumps(format_settings(receipt.fmt), sort_keys=True).encode() + b"\0")
    digest.update(receipt.data)
    return digest.hexdigest()


def receive_feed(
    session: Session,
    receipt: FeedReceipt,
    *,
    now: dt.datetime,
    hold_share: float | None = guards.DEFAULT_HOLD_SHARE,
) -> m.FeedRun:
    """Run a received feed through the whole pipeline and return its recorded run.

    A body that cannot be parsed is recorded as a rejected run and changes no stock. A full
    feed that looks like a broken export (network.feeds.guards, with `hold_share`) is recorded
    as held and changes no stock; None turns the guard off.
    Raises InvalidInput for a mode, basis or transport the hub does not know.
    """
    _check_receipt(receipt)
    run = record_receipt(session, receipt, status=m.FAILED, now=now)
    return process_run(session, run, receipt, now=now, hold_share=hold_share)


def record_receipt(session: Session, receipt: FeedReceipt, *, status: str, now: dt.datetime) -> m.FeedRun:
    """Record a run and its raw bytes (gzipped) as received; nothing is read or applied yet.

    A receipt whose mode is not known yet (a queued JSON push) gets its content hash when processed.
    """
    run = m.FeedRun(
        vendor_id=receipt.vendor_id,
        feed_id=receipt.feed_id,
        transport=receipt.transport,
        format=receipt.fmt.kind,
        mode=receipt.mode,
        basis=receipt.basis,
        status=status,
        content_hash=content_hash(receipt) if receipt.mode else None,
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
    return run


def process_run(
    session: Session,
    run: m.FeedRun,
    receipt: FeedReceipt,
    *,
    now: dt.datetime,
    hold_share: float | None = guards.DEFAULT_HOLD_SHARE,
) -> m.FeedRun:
    """Read a recorded run's receipt and apply it (or reject, hold, or skip it as a repeat).

    Holds the vendor's stock lock until the caller commits, so one vendor's counts apply one at
    a time, in the order they take the lock.
    """
    started = time.perf_counter()
    _check_receipt(receipt)
    digest = run.content_hash or content_hash(receipt)  # hashed at receipt when its mode was known
    run.content_hash, run.mode, run.basis = digest, receipt.mode, receipt.basis
    stock.lock_vendor_stock(session, receipt.vendor_id)
    previous = _last_applied(session, receipt.vendor_id, receipt.feed_id, before_id=run.id)
    if previous is not None and previous.content_hash == digest:
        # Identical bytes are not a new count: the staleness clock keeps running, so a vendor
        # export that silently stopped regenerating goes stale instead of showing old stock forever.
        held = ", which is held for confirmation" if previous.status == m.HELD else ""
        _finish(run, m.NOT_MODIFIED, started, now, message=f"identical to feed run {previous.id}{held}")
        return run
    stage = Stage(session)
    try:
        parsed = _parse(receipt, stage)
    except InvalidFeed as exc:
        stage.drop()
        _finish(run, m.REJECTED, started, now, message=exc.detail)
        return run
    status = _apply(session, run, receipt, parsed, stage, now=now, hold_share=hold_share)
    stage.drop()
    _finish(run, status, started, now)
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


def _parse(receipt: FeedReceipt, stage: Stage) -> ParsedFeed:
    """Parse the receipt, its valid rows streamed into the stage (the result keeps only their count)."""
    if receipt.records is not None:
        parsed = parse_records(receipt.records, receipt.fmt, sink=stage.add)
    else:
        parsed = parse_feed(receipt.data, receipt.fmt, sink=stage.add)
    stage.loaded()
    return parsed


def _apply(
    session: Session,
    run: m.FeedRun,
    receipt: FeedReceipt,
    parsed: ParsedFeed,
    stage: Stage,
    *,
    now: dt.datetime,
    hold_share: float | None,
    row_guard: bool = True,
) -> str:
    """Apply parsed rows to stock and publish what moved; return the run's status.

    REJECTED when a newer count superseded the feed, HELD when a guard held it. Rows whose
    quantity jumps beyond their history are held apart (network.feeds.jumps) unless `row_guard`
    is off (the vendor confirmed them).
    """
    full = receipt.mode == "full"
    # A count with no as-of of its own was true when it arrived, not when a queued run got applied.
    as_of = receipt.as_of or parsed.as_of or run.received_at
    run.as_of = as_of
    previous_snapshot = stock.snapshot_as_of(session, receipt.vendor_id)
    if full and previous_snapshot is not None and as_of < previous_snapshot:
        run.rows_rejected = parsed.rows_seen
        run.rows_seen = parsed.rows_seen
        run.message = f"superseded: a full count as of {previous_snapshot.isoformat()} is already applied"
        return m.REJECTED
    planner = Planner(
        session,
        vendor_id=receipt.vendor_id,
        full=full,
        basis=receipt.basis,
        as_of=as_of,
        snapshot_as_of=previous_snapshot,
        staged=parsed.streamed,
        source=stage.source(),
    )
    if full and hold_share is not None:
        # The guards need the whole feed's totals before anything is written: a first pass keeps
        # counts, not changes.
        totals = planner.totals()
        hold = guards.hold_for(
            totals,
            full=full,
            rows_seen=parsed.rows_seen,
            last_good_rows_seen=last_good_full_size(
                session, vendor_id=receipt.vendor_id, feed_id=receipt.feed_id, before_id=run.id
            ),
            share=hold_share,
        )
        if hold is not None:
            _hold(session, run, receipt, parsed, totals.errors, applied=totals.applied, hold=hold, now=now)
            return m.HELD
    limits = guard_limits(session, receipt.vendor_id) if row_guard else None
    # Positions with in-flight order lines get their committed units recomputed against the new
    # snapshot (DESIGN §4); they are locked together with the changed ones, in variant order,
    # chunk by chunk as the chunks come (each chunk's own and the in-flight ones up to its last).
    inflight = orders_inflight.variants_in_flight(session, receipt.vendor_id)
    to_lock = sorted(set(inflight), reverse=True)
    learns = learning.learns(session, receipt.vendor_id)
    changed: list[int] = []
    moves: list[CountMove] = []
    found: list[jumps.Jump] = []
    errors: list[RowError] = []
    rows_changed = 0
    for chunk in planner.chunks():
        plan = chunk.plan
        if limits is not None:
            jumped = jumps.find_jumps(
                session, vendor_id=receipt.vendor_id, rows=chunk.rows, plan=plan, limits=limits
            )
            if jumped:
                jumps.take_out(plan, jumped)
                found += jumped
        also_lock = []
        while to_lock and to_lock[-1] <= chunk.last:
            also_lock.append(to_lock.pop())
        changed += stock.carry_out(
            session,
            plan,
            vendor_id=receipt.vendor_id,
            full=False,
            as_of=as_of,
            feed_run_id=run.id,
            now=now,
            also_lock=also_lock,
        )
        errors += plan.errors
        rows_changed += sum(1 for _, _, diff in plan.changes if diff)
        if learns:
            moves += plan.moves
    stock.lock_positions(session, to_lock)  # in-flight positions past the last chunk
    superseded = len(errors)
    unknown = planner.unknown()
    errors += unknown
    if full:
        stock.record_full_snapshot(
            session, vendor_id=receipt.vendor_id, as_of=as_of, feed_run_id=run.id, now=now
        )
    orders_inflight.recompute_committed(session, inflight, now=now)
    if learns:
        _learn_depletion(session, receipt, moves, as_of=as_of, now=now)
    flag_hooks.after_snapshot(session, vendor_id=receipt.vendor_id, now=now)  # shortfalls, holds (DESIGN §9)
    if full and _freshness_may_change(session, receipt.vendor_id, previous_snapshot, now):
        affected = items_of_vendor(session, receipt.vendor_id)
    else:
        affected = items_sourcing(session, sorted({*changed, *inflight}))
    publish_changes(session, affected, now=now)
    _count(
        run, parsed, errors, applied=planner.matched(unknown) - superseded - len(found), changed=rows_changed
    )
    if found:
        held = jumps.hold_jumps(session, run, found, limits=limits, now=now)
        run.message = f"{len(found)} row(s) held for your confirmation in feed run {held.id}: " + "; ".join(
            jump.reason(limits) for jump in found
        )
    return _status(run)


def _learn_depletion(
    session: Session, receipt: FeedReceipt, moves: list[CountMove], *, as_of: dt.datetime, now: dt.datetime
) -> None:
    """Teach the depletion model what the vendor sold elsewhere between its counts (issue 18), when a
    retailer on the predictive model sources from it; before the figures are published."""
    vendor_id = receipt.vendor_id
    spans = {move.variant_id: (move.since, move.at) for move in moves if move.since is not None}
    learning.learn(
        session,
        vendor_id=vendor_id,
        moves=moves,
        hub_units=hub_units.units_reflected(session, spans, basis=receipt.basis) if spans else {},
        import_delay_minutes=lambda: hub_units.import_delay_minutes(session, vendor_id, now=now),
        as_of=as_of,
        now=now,
    )


def _count(
    run: m.FeedRun, parsed: ParsedFeed, plan_errors: list[RowError], *, applied: int, changed: int
) -> None:
    errors = [*parsed.errors, *plan_errors]
    errors.sort(key=lambda e: e.line)
    run.rows_seen = parsed.rows_seen
    run.rows_applied = applied
    run.rows_rejected = len(errors)
    run.rows_changed = changed
    run.errors = [{"line": e.line, "sku": e.sku, "reason": e.reason} for e in errors[:MAX_STORED_ERRORS]]


def _hold(
    session: Session,
    run: m.FeedRun,
    receipt: FeedReceipt,
    parsed: ParsedFeed,
    plan_errors: list[RowError],
    *,
    applied: int,
    hold: guards.Hold,
    now: dt.datetime,
) -> None:
    """Record a held run (nothing applied) and tell the vendor."""
    _count(run, parsed, plan_errors, applied=applied, changed=0)
    run.rows_applied = run.rows_changed = 0
    run.hold_reason, run.message = hold.reason, hold.message
    run.format_settings = format_settings(receipt.fmt)
    event = FeedHeld(
        feed_run_id=run.id,
        feed_id=receipt.feed_id,
        hold_reason=hold.reason,
        message=hold.message,
        rows_seen=run.rows_seen,
    )
    record(session, org_id=receipt.vendor_id, event=event, key=f"feed-run:{run.id}", now=now)


def last_good_full_size(
    session: Session, *, vendor_id: int, feed_id: int | None, before_id: int | None = None
) -> int | None:
    """Return the record count of the feed's last applied full run (before a run), if any."""
    query = sa.select(m.FeedRun.rows_seen).where(
        m.FeedRun.vendor_id == vendor_id,
        _same_feed(feed_id),
        m.FeedRun.mode == "full",
        m.FeedRun.status.in_(m.GOOD_STATUSES),
    )
    if before_id is not None:
        query = query.where(m.FeedRun.id < before_id)
    return session.scalar(query.order_by(m.FeedRun.id.desc()).limit(1))


def _same_feed(feed_id: int | None) -> sa.ColumnElement[bool]:
    return m.FeedRun.feed_id.is_(None) if feed_id is None else m.FeedRun.feed_id == feed_id


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


def _finish(
    run: m.FeedRun, status: str, started: float, now: dt.datetime, *, message: str | None = None
) -> None:
    """Close a run processed from `now` (its receipt for a synchronous one, later for a queued one)."""
    run.status = status
    if message is not None:
        run.message = message
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.finished_at = now + dt.timedelta(milliseconds=run.duration_ms)


def _last_applied(
    session: Session, vendor_id: int, feed_id: int | None, *, before_id: int
) -> m.FeedRun | None:
    return session.scalar(
        sa.select(m.FeedRun)
        .where(
            m.FeedRun.vendor_id == vendor_id,
            _same_feed(feed_id),
            # A held run counts too: re-sending a held file must not hold (and notify) again.
            m.FeedRun.status.in_((*m.GOOD_STATUSES, m.HELD)),
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


def apply_held_run(
    session: Session, run_id: int, *, vendor_id: int, actor: Actor, now: dt.datetime
) -> m.FeedRun:
    """Apply a held run as the vendor confirmed it: re-read its raw bytes, guard overridden.

    Raises NotFound, and Conflict when the run is not held, its bytes are gone, or a newer
    count was applied meanwhile (applying it would put older stock over newer).
    """
    stock.lock_vendor_stock(session, vendor_id)
    run = _held_run(session, run_id, vendor_id=vendor_id)
    newer = session.scalar(
        sa.select(m.FeedRun.id)
        .where(
            m.FeedRun.vendor_id == vendor_id,
            _same_feed(run.feed_id),
            m.FeedRun.status.in_(m.GOOD_STATUSES),
            m.FeedRun.id > run.id,
        )
        .limit(1)
    )
    snapshot = stock.snapshot_as_of(session, vendor_id)
    if newer is not None or (snapshot is not None and run.as_of is not None and snapshot > run.as_of):
        newer_count = f"feed run {newer}" if newer is not None else "a newer full feed"
        raise Conflict(
            f"feed run {run.id} is superseded: {newer_count} was applied after it was held; discard it"
        )
    data = raw_bytes(session, run.id)
    if data is None:
        raise Conflict(f"the file of feed run {run.id} is no longer kept; send it again")
    receipt = FeedReceipt(
        vendor_id=vendor_id,
        transport=run.transport,
        mode=run.mode,
        basis=run.basis,
        data=data,
        fmt=FeedFormat(**(run.format_settings or {})),
        as_of=run.as_of,
        feed_id=run.feed_id,
    )
    stage = Stage(session)
    try:
        parsed = _parse(receipt, stage)
    except InvalidFeed as exc:
        raise Conflict(f"feed run {run.id} can no longer be read: {exc.detail}") from None
    held_message = run.message
    run.status = _apply(session, run, receipt, parsed, stage, now=now, hold_share=None, row_guard=False)
    stage.drop()
    run.message = f"applied on the vendor's confirmation; it was {held_message}"
    run.resolved_at = now
    _audit_resolved(session, run, actor=actor, action="feed_run.applied", held_message=held_message, now=now)
    return run


def discard_held_run(
    session: Session, run_id: int, *, vendor_id: int, actor: Actor, now: dt.datetime
) -> m.FeedRun:
    """Drop a held run for good. Raises NotFound, and Conflict when the run is not held."""
    stock.lock_vendor_stock(session, vendor_id)
    run = _held_run(session, run_id, vendor_id=vendor_id)
    run.status = m.DISCARDED
    run.resolved_at = now
    _audit_resolved(session, run, actor=actor, action="feed_run.discarded", held_message=run.message, now=now)
    return run


def _audit_resolved(
    session: Session, run: m.FeedRun, *, actor: Actor, action: str, held_message: str | None, now: dt.datetime
) -> None:
    # Overriding a guard is the decision a vendor is asked about later ("who let this file through?").
    audit.record(
        session,
        org_id=run.vendor_id,
        actor=actor,
        action=action,
        subject=f"feed run {run.id}",
        before={"status": m.HELD, "reason": held_message},
        after={"status": run.status},
        now=now,
    )


def _held_run(session: Session, run_id: int, *, vendor_id: int) -> m.FeedRun:
    run = get_run(session, run_id, vendor_id=vendor_id)
    session.refresh(run)  # another request may have resolved it while we waited for the lock
    if run.status != m.HELD:
        raise Conflict(f"feed run {run_id} is {run.status}, not held")
    return run
