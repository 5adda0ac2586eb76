"""On PostgreSQL, event ids are handed out before commit: a cursor reader must never skip one."""

from __future__ import annotations

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
    slow, fast, reader, bystander = (Session(db.engine) for _ in range(4))
    try:
        # A long write transaction elsewhere must not hold the feed back.
        create_organization(bystander, kind="vendor", name="busy", now=now)
        bystander.flush()

        record(slow, org_id=org_id, event=_event("SLOW"), key="SLOW", now=now)
        slow.flush()
        record(fast, org_id=org_id, event=_event("FAST"), key="FAST", now=now)
        fast.commit()

        first = read_events(reader, org_id=org_id, after_seq=0, limit=10)
        reader.rollback()
        assert [e.key for e in first] == ["FAST"]

        slow.commit()
        second = read_events(reader, org_id=org_id, after_seq=first[-1].seq, limit=10)
        assert [e.key for e in second] == ["SLOW"]
        assert second[0].id < first[0].id  # the lower id arrived after the cursor had passed it
    finally:
        for session in (slow, fast, reader, bystander):
            session.rollback()
            session.close()
