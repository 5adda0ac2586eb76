"""Retention by whole months (PostgreSQL): a month partition past its table's retention is dropped
in one statement instead of deleting its rows one by one, unless something in it is still needed.

What each table keeps past its retention (the reason the report gives):
- events: a month the outbox's readers (the webhook fan-out, the vendor notices) have not passed,
  or one whose events a webhook delivery or an unsent notice claim still names (the deliveries and
  claims have no foreign key to partitioned events any more, so this is what keeps them whole);
- webhook deliveries: a month with a delivery still pending (it is owed; retries end at its
  `retry_until`, after which it is dead and the month can go);
- feed runs: a month with a run held for the vendor's decision or queued for the worker (it needs
  its raw file), or the run of a vendor's current snapshot (what makes its positions fresh);
- the stock ledger: nothing more than its days. The API promises no ledger horizon (API.md), and
  DESIGN §4 wants every number explainable: the default is over a year, and 0 keeps it for ever.

Dropping a partition holds its parent exclusively for a moment (PostgreSQL refuses DETACH
CONCURRENTLY next to a default partition), so the drop waits at most LOCK_TIMEOUT for the writers
in flight; if one is long (a big feed apply), the month is left for the next run rather than
making every order queue behind the waiting drop.

Two workers may run the job at once: both list the same expired month, and the second waits for
the table's lock while the first drops it. Under the lock the month is looked for again, and one
that is gone is reported as dropped by another worker (`Report.dropped_elsewhere`), not an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import is_postgres, transaction, try_job_lock
from network.feeds.models import HELD, QUEUED
from network.flags.notices import CURSOR as NOTICE_CURSOR
from network.history import months
from network.outbox.fanout import CURSOR as FANOUT_CURSOR
from network.outbox.models import PENDING
from network.partitions import add_months, default_partition_name, month_start

LOCK_TIMEOUT = "500ms"
_LOCK_NOT_AVAILABLE = "55P03"
_CHECK_VIOLATION = "23514"


@dataclass(frozen=True)
class Policy:
    table: str
    key: str  # the partition key, the row's creation time
    keep_days: int  # 0: for ever
    setting: str  # the configuration key of keep_days


# The defaults live in network/config.py; the event feed and the change feeds are read by cursor,
# and a cursor older than the events' retention resumes at the oldest event kept.
POLICIES = (
    Policy("stock_ledger", "at", 400, "HUB_LEDGER_RETENTION_DAYS"),
    # Deliveries before events: a month of deliveries dropped frees its events in the same run.
    Policy("webhook_deliveries", "created_at", 30, "HUB_WEBHOOK_RETENTION_DAYS"),
    Policy("events", "created_at", 90, "HUB_EVENT_RETENTION_DAYS"),
    Policy("feed_runs", "received_at", 180, "HUB_FEED_RUN_RETENTION_DAYS"),
)


def policies(config: Mapping[str, object]) -> list[Policy]:
    return [
        Policy(p.table, p.key, int(config.get(p.setting, p.keep_days)), p.setting)  # type: ignore[arg-type]
        for p in POLICIES
    ]


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    moved: int = 0  # rows moved out of default partitions into their month
    dropped: list[str] = field(default_factory=list)
    # expired partitions another worker dropped between our listing and our lock
    dropped_elsewhere: list[str] = field(default_factory=list)
    # partition -> why it stays past its retention
    kept: dict[str, str] = field(default_factory=dict)


def expired(policy: Policy, month: dt.datetime, now: dt.datetime) -> bool:
    """Is every row a month partition can hold older than the policy's retention?"""
    return policy.keep_days > 0 and add_months(month, 1) <= now - dt.timedelta(days=policy.keep_days)


# One worker makes a table's months at a time (db.try_job_lock on the table's name, held until
# commit): two at once both found a month missing, and the second's CREATE TABLE failed.


def create_ahead(session: Session, policy: Policy, *, now: dt.datetime, ahead: int, report: Report) -> None:
    """Make this month's partition and `ahead` more (and move strays out of the default)."""
    if not try_job_lock(session, f"history months {policy.table}"):
        report.kept[default_partition_name(policy.table)] = "busy: another worker is making its months"
        return
    current = month_start(now)
    last = add_months(current, ahead)
    for made in months.ensure(session, policy.table, policy.key, current, last, now=now):
        report.created.append(made.name)
        report.moved += made.moved


def expired_partitions(session: Session, policy: Policy, *, now: dt.datetime) -> list[str]:
    return [
        name
        for month, name in sorted(months.existing(session, policy.table).items())
        if expired(policy, month, now)
    ]


def why_kept(session: Session, table: str, partition: str) -> str | None:
    """The reason a partition past its retention must stay, or None when it may go."""
    return _KEEP[table](session, partition)


# drop()'s answer when the partition was gone once the lock was ours: another worker dropped it.
DROPPED_ELSEWHERE = "dropped by another worker"


def drop(session: Session, table: str, partition: str) -> str | None:
    """Drop one expired partition unless it must stay; returns why it stayed (None: dropped;
    DROPPED_ELSEWHERE: another worker dropped it first).

    Run it in its own transaction: it locks the parent, checks again under the lock (the partition
    still there, a delivery replayed meanwhile), deletes what referred to the rows without a
    foreign key, drops.
    """
    _lock_timeout(session)
    try:
        with session.begin_nested():
            session.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
    except sa.exc.DBAPIError as error:
        if _sqlstate(error) != _LOCK_NOT_AVAILABLE:
            raise
        return "busy: writers held the table longer than the lock timeout; next run"
    # Dropping a partition locks its parent as we just did: while we hold it the partition cannot
    # go, and the lock's wait has made this statement see any drop committed before it.
    if session.scalar(sa.text("SELECT to_regclass(:name)"), {"name": partition}) is None:
        return DROPPED_ELSEWHERE
    reason = why_kept(session, table, partition)
    if reason:
        return reason
    if table == "feed_runs":
        session.execute(
            sa.text(f"DELETE FROM feed_run_payloads WHERE run_id IN (SELECT id FROM {partition})")
        )
    session.execute(sa.text(f"DROP TABLE {partition}"))
    return None


def _exists(session: Session, sql: str, **params: object) -> bool:
    return bool(session.scalar(sa.text(f"SELECT EXISTS ({sql})"), params))


def _keep_events(session: Session, partition: str) -> str | None:
    for name, what in ((FANOUT_CURSOR, "the webhook fan-out"), (NOTICE_CURSOR, "the vendor notices")):
        table = "outbox_cursors" if name == FANOUT_CURSOR else "vendor_notice_cursors"
        cursor = session.execute(
            sa.text(f"SELECT last_txid, last_event_id FROM {table} WHERE name = :name"), {"name": name}
        ).first()
        if cursor is None:
            return f"{what} has not read the outbox yet"
        if _exists(
            session,
            f"SELECT 1 FROM {partition} WHERE (txid, id) > (:txid, :id)",
            txid=cursor.last_txid,
            id=cursor.last_event_id,
        ):
            return f"{what} has not passed these events"
    # The partition's id range (ids come in time order, up to transactions committing out of
    # order: a range check keeps a little more, never less) against the rows naming events.
    low, high = session.execute(sa.text(f"SELECT min(id), max(id) FROM {partition}")).one()
    if low is None:
        return None
    if _exists(
        session, "SELECT 1 FROM webhook_deliveries WHERE event_id BETWEEN :low AND :high", low=low, high=high
    ):
        return "webhook deliveries of these events remain"
    if _exists(
        session,
        "SELECT 1 FROM vendor_notice_claims WHERE sent_at IS NULL AND event_id BETWEEN :low AND :high",
        low=low,
        high=high,
    ):
        return "vendor notices of these events are unsent"
    return None


def _keep_deliveries(session: Session, partition: str) -> str | None:
    if _exists(session, f"SELECT 1 FROM {partition} WHERE status = :pending", pending=PENDING):
        return "deliveries still pending"
    return None


def _keep_feed_runs(session: Session, partition: str) -> str | None:
    if _exists(
        session, f"SELECT 1 FROM {partition} WHERE status IN (:held, :queued)", held=HELD, queued=QUEUED
    ):
        return "runs held or queued"
    if _exists(session, f"SELECT 1 FROM {partition} r JOIN stock_snapshots s ON s.feed_run_id = r.id"):
        return "a vendor's current snapshot"
    return None


_KEEP: dict[str, Callable[[Session, str], str | None]] = {
    "stock_ledger": lambda session, partition: None,
    "events": _keep_events,
    "webhook_deliveries": _keep_deliveries,
    "feed_runs": _keep_feed_runs,
}


def maintain(session: Session, config: Mapping[str, object], *, now: dt.datetime) -> Report:
    """The job: per table, make the months ahead, then drop the expired months that may go, each
    in its own transaction. SQLite keeps plain tables: nothing to do there."""
    report = Report()
    if not is_postgres(session):
        return report
    ahead = int(config.get("HUB_PARTITION_MONTHS_AHEAD", 2))  # type: ignore[call-overload]
    for policy in policies(config):
        try:
            with transaction(session):
                _lock_timeout(session)
                create_ahead(session, policy, now=now, ahead=ahead, report=report)
        except sa.exc.DBAPIError as error:
            # Writers held the table (strays to move) or put a row into the month being attached:
            # the months come next run, and rows wait in the default partition meanwhile.
            if _sqlstate(error) not in (_LOCK_NOT_AVAILABLE, _CHECK_VIOLATION):
                raise
            report.kept[default_partition_name(policy.table)] = "busy: months not made; next run"
        with transaction(session):
            doomed = expired_partitions(session, policy, now=now)
        for partition in doomed:
            with transaction(session):
                reason = drop(session, policy.table, partition)
            if reason == DROPPED_ELSEWHERE:
                report.dropped_elsewhere.append(partition)
            elif reason:
                report.kept[partition] = reason
            else:
                report.dropped.append(partition)
    return report


def _lock_timeout(session: Session) -> None:
    session.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)
