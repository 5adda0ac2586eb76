"""On PostgreSQL, event ids are handed out before commit: a cursor reader must never skip one."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import Session

from network.clock import utcnow
from network.extensions import db
from network.outbox.events import AvailabilityChanged
from network.outbox.services import read_events, record
from network.partners.services import create_organization

pytestmark = pytest.mark.postgres


def _event(sku: str) -> AvailabilityChanged:
    return AvailabilityChanged(retailer_sku=sku, available=1, previous=0, updated_at=utcnow().isoformat())


def test_event_committed_late_with_a_lower_id_is_not_skipped(pg_app):
    now = utcnow()
    with Session(db.engine) as setup:
        org_id = create_organization(setup, kind="retailer", name="R", now=now).id
        setup.commit()
    slow, fast, reader = Session(db.engine), Session(db.engine), Session(db.engine)
    try:
        record(slow, org_id=org_id, event=_event("SLOW"), key="SLOW", now=now)
        slow.flush()
        record(fast, org_id=org_id, event=_event("FAST"), key="FAST", now=now)
        fast.commit()

        # The fast writer's event has the higher id but must wait for the slow writer to finish.
        assert read_events(reader, org_id=org_id, after_id=0, limit=10) == []
        reader.rollback()

        slow.commit()
        # Visibility waits for every writing transaction on the cluster that began before; other
        # databases on a shared test server may hold it back briefly, never forever.
        deadline = time.monotonic() + 30
        while True:
            seen = [e.key for e in read_events(reader, org_id=org_id, after_id=0, limit=10)]
            reader.rollback()
            if seen or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert seen == ["SLOW", "FAST"]
    finally:
        for session in (slow, fast, reader):
            session.close()
