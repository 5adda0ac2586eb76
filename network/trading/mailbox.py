"""Exchanging files with a partner's SFTP mailbox, as use cases: push what is pending, take what the
partner dropped (each file once), and the worker's round over every due partner.

No transaction is open while the network is used: each pushed file is marked sent, and each taken
file is processed, in a transaction of its own, right after its transfer. So a connection lost at
any point leaves either nothing recorded (the transfer is simply retried next time) or a recorded
file whose repeat is recognized (name + size + SHA-256 for what we take; for what we push, the
same name always carries the same bytes and an equal file already in place is left as is).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.clock import utcnow
from network.db import is_postgres, transaction
from network.feeds.credentials import Credentials, CredentialsUnreadable
from network.feeds.pull import PullSettings
from network.feeds.sftp import Connection, HostKeyChanged, Mailbox, SftpFailed, connect
from network.flags.hooks import hold_period
from network.trading import inbound, outbound
from network.trading.models import OUT, PENDING, SENT, EdiFile, TradingPartner

log = logging.getLogger(__name__)

PUSH_BATCH = 100
LEASE = dt.timedelta(minutes=30)
QUEUE_BATCH = 500


@dataclass(frozen=True)
class MailboxSettings:
    pull: PullSettings
    credentials: Credentials
    hold_for: dt.timedelta
    settle_seconds: float = 2.0
    max_bytes: int = 50 * 1024 * 1024
    hold_share: float | None = 0.5

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailboxSettings:
        return cls(
            pull=PullSettings.from_config(config),
            credentials=Credentials(config["SECRET_KEY"]),
            hold_for=hold_period(config),
            settle_seconds=float(config.get("HUB_SFTP_SETTLE_SECONDS", 2.0)),
            max_bytes=int(config.get("HUB_FEED_MAX_BYTES", 50 * 1024 * 1024)),
            hold_share=float(config.get("HUB_FEED_HOLD_SHARE", 0.5)),
        )


@dataclass
class Round:
    """What one visit to a mailbox did."""

    pushed: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    error: str | None = None


def open_mailbox(partner: TradingPartner, settings: MailboxSettings) -> Connection:
    """Connect with the partner's credentials. Raises SftpFailed (HostKeyChanged when the key moved)."""
    try:
        secret = settings.credentials.open(partner.credentials_sealed)
    except CredentialsUnreadable:
        raise SftpFailed(
            "the stored SFTP credentials cannot be read (was SECRET_KEY changed?); set them again"
        ) from None
    mailbox = Mailbox(partner.host, partner.port, partner.username, secret, partner.host_key)
    return connect(mailbox, settings.pull)


def exchange(
    session: Session, partner_id: int, settings: MailboxSettings, *, now: dt.datetime | None = None
) -> Round:
    """Visit one partner's mailbox: push pending files, take ready ones, push the 997s they caused."""
    result = Round()
    partner = session.get(TradingPartner, partner_id)
    session.commit()  # reads done; nothing is held open across the network
    try:
        with open_mailbox(partner, settings) as conn:
            if partner.host_key is None:
                with transaction(session):
                    session.get(TradingPartner, partner_id).host_key = conn.seen_key  # first key pinned
            push_pending(session, partner, conn, result)
            take_ready(session, partner, conn, settings, result, now=now)
            push_pending(session, partner, conn, result)
    except HostKeyChanged as exc:
        result.error = str(exc)
        with transaction(session):
            stored = session.get(TradingPartner, partner_id)
            stored.offered_host_key, stored.last_error = exc.offered, result.error
    except (SftpFailed, OSError, EOFError) as exc:
        result.error = str(exc) or type(exc).__name__
    except Exception as exc:  # paramiko raises its own for a session torn mid-transfer
        if type(exc).__module__.split(".")[0] != "paramiko":
            raise
        result.error = f"SFTP session failed: {exc}"
    moment = now or utcnow()
    with transaction(session):
        stored = session.get(TradingPartner, partner_id)
        stored.last_error = result.error
        wait = stored.poll_minutes if result.error is None else min(stored.poll_minutes, 5)
        stored.next_poll_at = moment + dt.timedelta(minutes=wait)
    if result.error:
        log.warning("EDI mailbox of vendor %s: %s", partner.vendor_id, result.error)
    return result


def push_pending(session: Session, partner: TradingPartner, conn: Connection, result: Round) -> None:
    pending = session.scalars(
        sa.select(EdiFile)
        .where(EdiFile.vendor_id == partner.vendor_id, EdiFile.direction == OUT, EdiFile.status == PENDING)
        .order_by(EdiFile.id)
    ).all()
    files = [(f.id, f.name, f.raw.encode()) for f in pending]
    session.commit()
    # Marked sent a batch at a time: a file put but not yet marked is simply put again next time,
    # which `put` recognizes (same name, same size) and leaves alone.
    for start in range(0, len(files), PUSH_BATCH):
        batch = files[start : start + PUSH_BATCH]
        for _, name, data in batch:
            conn.put(partner.inbound_dir, name, data)
        with transaction(session):
            session.execute(
                sa.update(EdiFile)
                .where(EdiFile.id.in_([file_id for file_id, _, _ in batch]))
                .values(status=SENT, sent_at=utcnow())
            )
        result.pushed.extend(name for _, name, _ in batch)


def take_ready(
    session: Session,
    partner: TradingPartner,
    conn: Connection,
    settings: MailboxSettings,
    result: Round,
    *,
    now: dt.datetime | None = None,
) -> None:
    for remote in conn.ready(partner.outbound_dir, partner.pattern, settle=settings.settle_seconds):
        data = conn.read(partner.outbound_dir, remote, settings.max_bytes)
        try:
            with transaction(session):
                stored = session.get(TradingPartner, partner.id)
                received = inbound.receive(
                    session,
                    stored,
                    remote.name,
                    data,
                    now=now or utcnow(),
                    hold_for=settings.hold_for,
                    hold_share=settings.hold_share,
                )
            duplicate = received.duplicate
        except sa.exc.IntegrityError:
            duplicate = True  # another worker recorded the same file first (uq_edi_files_seen)
        (result.duplicates if duplicate else result.taken).append(remote.name)
        if partner.after_pull == "archive":
            conn.archive(partner.outbound_dir, remote.name, partner.archive_dir)


def queue_documents(session: Session, *, now: dt.datetime) -> None:
    """Write every owed 850 and 860 (a batch per transaction), and flag 850s whose 997 is overdue."""
    for queue in (outbound.queue_purchase_orders, outbound.queue_cancellations):
        written = QUEUE_BATCH
        while written == QUEUE_BATCH:
            with transaction(session):
                written = queue(session, now=now, limit=QUEUE_BATCH)
    with transaction(session):
        outbound.flag_unacknowledged(session, now=now)


def exchange_due(
    session: Session, config: Mapping[str, Any], *, now: dt.datetime | None = None
) -> list[Round]:
    """The worker's round: write what is owed, then visit every partner due (or with files pending)."""
    moment = now or utcnow()
    queue_documents(session, now=moment)
    settings = MailboxSettings.from_config(config)
    pending = sa.exists(
        sa.select(EdiFile.id).where(
            EdiFile.vendor_id == TradingPartner.vendor_id, EdiFile.direction == OUT, EdiFile.status == PENDING
        )
    )
    query = sa.select(TradingPartner).where(
        TradingPartner.active.is_(True),
        sa.or_(
            TradingPartner.next_poll_at.is_(None),
            TradingPartner.next_poll_at <= moment,
            sa.and_(pending, TradingPartner.offered_host_key.is_(None)),
        ),
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=TradingPartner)
    # Claimed with a lease, as feeds are: another worker skips a mailbox this one is visiting, so
    # two never take the same file at once; `exchange` sets the real next visit when it is done.
    with transaction(session):
        due = []
        for partner in session.scalars(query).all():
            partner.next_poll_at = moment + LEASE
            due.append(partner.id)
    return [exchange(session, partner_id, settings, now=now) for partner_id in due]
