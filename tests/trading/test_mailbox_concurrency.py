"""Two workers visiting one mailbox at once (PostgreSQL): every file is applied exactly once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.orders.models import Shipment
from network.trading import mailbox
from network.trading.models import EdiFile, TradingPartner
from tests.builders import make_network
from tests.order_helpers import place, stocked_item
from tests.trading.helpers import SETUP, asn_856

pytestmark = pytest.mark.postgres


def test_two_workers_in_one_mailbox_apply_each_file_once(pg_app, sshd):
    pg_app.config.update(HUB_FEED_ALLOW_PRIVATE=True, HUB_SFTP_SETTLE_SECONDS=0.2)
    net = make_network(db.session, pg_app.test_client(), retailers=1, vendors=1)
    transport = {
        **SETUP["transport"],
        "port": sshd.port,
        "username": sshd.username,
        "credentials": {"private_key": sshd.private_key},
        "after_pull": "leave",  # both workers see every file for the whole run
    }
    assert net.vendor.api.put("/vendor-api/v1/edi", json={**SETUP, "transport": transport}).status_code == 200
    _, sku = stocked_item(db.session, net.vendor, [net.retailer], 100, sku="DESK-1")
    pos = [place(net.retailer, [(sku, 1)]).get_json()["purchase_orders"][0]["id"] for _ in range(6)]
    for po_id in pos:
        (sshd.root / "out" / f"asn_{po_id}.edi").write_bytes(asn_856(po_id, f"1Z{po_id}", (1, 1)))
    partner_id = db.session.scalar(sa.select(TradingPartner.id))
    settings = mailbox.MailboxSettings.from_config(pg_app.config)
    db.session.remove()

    start = threading.Barrier(2)
    failures: list[BaseException] = []
    rounds: list[mailbox.Round] = []

    def worker() -> None:
        try:
            with pg_app.app_context():
                start.wait(timeout=10)
                later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
                rounds.append(mailbox.exchange(db.session, partner_id, settings, now=later))
                db.session.remove()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert all(r.error is None for r in rounds), [r.error for r in rounds]
    taken = [name for r in rounds for name in r.taken]
    assert sorted(taken) == sorted(f"asn_{po_id}.edi" for po_id in pos)  # each by one worker only
    received = db.session.scalar(
        sa.select(sa.func.count()).select_from(EdiFile).where(EdiFile.direction == "in")
    )
    assert received == 6
    assert sorted(db.session.scalars(sa.select(Shipment.po_id))) == sorted(pos)
