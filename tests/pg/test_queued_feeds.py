"""Queued pushes on PostgreSQL: one apply at a time per vendor across workers, in arrival order."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog import services as catalog
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.feeds import queue
from network.feeds.models import APPLIED, QUEUED, FeedRun
from network.feeds.parsing import FeedFormat
from network.feeds.services import FeedReceipt
from network.jobs import apply_queued_feeds
from network.partners.services import create_organization
from network.stock.models import StockPosition

pytestmark = pytest.mark.postgres


def _queue(vendor_id: int, text: str, mode: str = "delta") -> int:
    receipt = FeedReceipt(
        vendor_id=vendor_id,
        transport="push",
        mode=mode,
        basis="available",
        data=text.encode(),
        fmt=FeedFormat(),
    )
    with transaction(db.session):
        return queue.queue_receipt(db.session, receipt, now=utcnow()).id


def _vendors(count: int) -> list[int]:
    now = utcnow()
    with transaction(db.session):
        ids = []
        for n in range(count):
            vendor = create_organization(db.session, kind="vendor", name=f"V{n}", now=now)
            catalog.upsert_variant(db.session, vendor_id=vendor.id, vendor_sku="S", title="t", now=now)
            ids.append(vendor.id)
    return ids


def test_a_claimed_run_holds_back_its_vendors_later_runs_but_not_other_vendors(pg_app):
    v, w = _vendors(2)
    first, second, other = (
        _queue(v, "sku,quantity\nS,1\n"),
        _queue(v, "sku,quantity\nS,2\n"),
        _queue(w, "sku,quantity\nS,3\n"),
    )
    worker_a, worker_b = Session(db.engine), Session(db.engine)
    try:
        assert queue.claim_next(worker_a).id == first
        # Worker B skips the locked run and must not take the vendor's next one before it.
        assert queue.claim_next(worker_b).id == other
        with Session(db.engine) as worker_c:
            assert queue.claim_next(worker_c) is None
            worker_c.rollback()
        queue.apply_claimed(worker_a, worker_a.get(FeedRun, first), now=utcnow(), hold_share=None)
        worker_a.commit()
        worker_b.rollback()
        assert queue.claim_next(worker_b).id == second
    finally:
        worker_a.close()
        worker_b.close()


def test_two_workers_apply_every_queued_run_once_in_each_vendors_order(pg_app):
    vendors = _vendors(3)
    # Each vendor's last delta leaves the quantity at 10: any reordering would leave another figure.
    expected = {}
    for vendor_id in vendors:
        expected[vendor_id] = [_queue(vendor_id, f"sku,quantity\nS,{q}\n") for q in (3, 7, 1, 10)]
    applied: list[list[int]] = []

    def worker() -> None:
        with pg_app.app_context():
            applied.append([run.id for run in apply_queued_feeds()])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = sorted(run_id for runs in applied for run_id in runs)
    assert everything == sorted(run_id for runs in expected.values() for run_id in runs)
    statuses = db.session.scalars(sa.select(FeedRun.status).where(FeedRun.status == QUEUED)).all()
    assert statuses == []
    for vendor_id, run_ids in expected.items():
        finished = db.session.scalars(
            sa.select(FeedRun.finished_at).where(FeedRun.id.in_(run_ids)).order_by(FeedRun.id)
        ).all()
        assert finished == sorted(finished)
        quantity = db.session.scalar(
            sa.select(StockPosition.quantity).where(StockPosition.vendor_id == vendor_id)
        )
        assert quantity == 10
    assert set(db.session.scalars(sa.select(FeedRun.status))) == {APPLIED}
